using System.IO;
using System.Linq;
using Unity.MLAgents.Policies;
using UnityEditor;
using UnityEditor.SceneManagement;
using UnityEngine;
#if HIDESEEK_MLAGENTS_3
using PolicyModel = Unity.Sentis.ModelAsset;
#else
using PolicyModel = Unity.Barracuda.NNModel;
#endif

namespace HideAndSeek.Editor
{
    /// <summary>
    /// Generates the project's scenes from code, so nothing depends on hand-written scene YAML:
    /// a training scene (what builds contain) and a demo scene that plays Hider.onnx / Seeker.onnx
    /// from Assets/HideAndSeek/Models with Behavior Type "Inference Only". Where that folder has no
    /// model yet, the pretrained pair the repository ships (models/quadrant) is imported into it.
    /// </summary>
    public static class SceneGenerator
    {
        public const string SceneFolder = "Assets/HideAndSeek/Scenes";
        public const string TrainingScene = SceneFolder + "/Training.unity";
        public const string DemoScene = SceneFolder + "/Demo.unity";
        public const string ModelFolder = "Assets/HideAndSeek/Models";
        /// <summary>The repository's pretrained pair, relative to the project folder (the editor's
        /// working directory): UnityProject/ and models/ are siblings.</summary>
        public const string ShippedModelFolder = "../models/quadrant";

        [MenuItem("Hide and Seek/Generate Training Scene")]
        public static void GenerateTrainingScene()
        {
            Generate(TrainingScene, BehaviorType.Default, 1, null, null);
        }

        [MenuItem("Hide and Seek/Generate Demo Scene (Inference Only)")]
        public static void GenerateDemoScene()
        {
            var hider = LoadModel("Hider");
            var seeker = LoadModel("Seeker");
            Generate(DemoScene, BehaviorType.InferenceOnly, 1, hider, seeker);
        }

        static PolicyModel LoadModel(string behavior)
        {
            var path = ModelFolder + "/" + behavior + ".onnx";
            if (!File.Exists(path))
                ImportShippedModel(behavior, path);
            var model = AssetDatabase.LoadAssetAtPath<PolicyModel>(path);
            if (model == null)
                throw new FileNotFoundException("SceneGenerator: " + path + " is missing or was not imported as a model; " +
                                                "copy the files written by 'hideseek export' there first (docs/unity.md).", path);
            return model;
        }

        /// <summary>Copies the shipped pretrained model into the project and imports it; your own
        /// exports in ModelFolder are never overwritten.</summary>
        static void ImportShippedModel(string behavior, string path)
        {
            var shipped = Path.Combine(ShippedModelFolder, behavior + ".onnx");
            if (!File.Exists(shipped))
                return;
            Directory.CreateDirectory(ModelFolder);
            File.Copy(shipped, path);
            AssetDatabase.ImportAsset(path);
            Debug.Log("SceneGenerator: imported the pretrained " + shipped + " as " + path);
        }

        static void Generate(string path, BehaviorType behaviorType, int arenas, PolicyModel hider, PolicyModel seeker)
        {
            if (!AssetDatabase.IsValidFolder(SceneFolder))
                AssetDatabase.CreateFolder("Assets/HideAndSeek", "Scenes");
            var scene = EditorSceneManager.NewScene(NewSceneSetup.EmptyScene, NewSceneMode.Single);

            var light = new GameObject("Sun").AddComponent<Light>();
            light.type = LightType.Directional;
            light.transform.rotation = Quaternion.Euler(60f, 30f, 0f);

            var camera = new GameObject("Top Camera").AddComponent<Camera>();
            camera.tag = "MainCamera";
            camera.orthographic = true;
            camera.orthographicSize = 4f;
            camera.transform.position = new Vector3(0f, 12f, 0f);
            camera.transform.rotation = Quaternion.Euler(90f, 0f, 0f);

            var builder = new GameObject("HideAndSeek").AddComponent<ArenaBuilder>();
            builder.NumArenas = arenas;
            builder.BehaviorType = behaviorType;
            builder.HiderModel = hider;
            builder.SeekerModel = seeker;

            if (!EditorSceneManager.SaveScene(scene, path))
                throw new IOException("SceneGenerator: could not save " + path);
            AddToBuildSettings(path);
            Debug.Log("SceneGenerator: wrote " + path);
        }

        static void AddToBuildSettings(string path)
        {
            var scenes = EditorBuildSettings.scenes.Where(s => s.path != path).ToList();
            scenes.Insert(path == TrainingScene ? 0 : scenes.Count, new EditorBuildSettingsScene(path, true));
            EditorBuildSettings.scenes = scenes.ToArray();
        }
    }
}
