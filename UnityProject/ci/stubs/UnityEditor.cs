// Signature-only stand-ins for the UnityEditor API the Editor assembly uses (see UnityEngine.cs).
using System;
using UnityEngine;
using UnityEngine.SceneManagement;

namespace UnityEditor
{
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    public sealed class MenuItem : Attribute
    {
        public MenuItem(string itemName) { }
    }

    public sealed class AssetDatabase
    {
        public static T LoadAssetAtPath<T>(string assetPath) where T : UnityEngine.Object { throw null; }
        public static bool IsValidFolder(string path) { throw null; }
        public static string CreateFolder(string parentFolder, string newFolderName) { throw null; }
        public static void Refresh() { throw null; }
        public static void ImportAsset(string path) { throw null; }
    }

    public class EditorBuildSettingsScene
    {
        public EditorBuildSettingsScene(string path, bool enabled) { }
        public string path { get { throw null; } set { } }
        public bool enabled { get { throw null; } set { } }
    }

    public class EditorBuildSettings : UnityEngine.Object
    {
        public static EditorBuildSettingsScene[] scenes { get { throw null; } set { } }
    }

    public sealed class EditorApplication
    {
        public static void Exit(int returnValue) { throw null; }
    }

    public sealed class PlayerSettings : UnityEngine.Object
    {
        public static bool runInBackground { get { throw null; } set { } }
    }

    public enum BuildTarget { StandaloneOSX = 2, StandaloneWindows = 5, StandaloneWindows64 = 19, StandaloneLinux64 = 24 }

    public enum BuildTargetGroup { Unknown = 0, Standalone = 1 }

#if UNITY_6000_0_OR_NEWER
    public enum StandaloneBuildSubtarget { Default = 0, Player = 2, Server = 1 }
#else
    public enum StandaloneBuildSubtarget { NoSubtarget = -1, Player = 0, Server = 1 }
#endif

    [Flags]
    public enum BuildOptions { None = 0, Development = 1 }

    public struct BuildPlayerOptions
    {
        public string[] scenes { get { throw null; } set { } }
        public string locationPathName { get { throw null; } set { } }
        public string assetBundleManifestPath { get { throw null; } set { } }
        public BuildTargetGroup targetGroup { get { throw null; } set { } }
        public BuildTarget target { get { throw null; } set { } }
        public int subtarget { get { throw null; } set { } }
        public BuildOptions options { get { throw null; } set { } }
    }

    public class BuildPipeline
    {
        public static Build.Reporting.BuildReport BuildPlayer(BuildPlayerOptions buildPlayerOptions) { throw null; }
    }
}

namespace UnityEditor.Build.Reporting
{
    public enum BuildResult { Unknown = 0, Succeeded = 1, Failed = 2, Cancelled = 3 }

    public struct BuildSummary
    {
        public BuildResult result { get { throw null; } }
        public int totalErrors { get { throw null; } }
        public ulong totalSize { get { throw null; } }
        public string outputPath { get { throw null; } }
    }

    public sealed class BuildReport : UnityEngine.Object
    {
        public BuildSummary summary { get { throw null; } }
    }
}

namespace UnityEditor.SceneManagement
{
    public enum NewSceneSetup { EmptyScene = 0, DefaultGameObjects = 1 }

    public enum NewSceneMode { Single = 0, Additive = 1 }

    public sealed class EditorSceneManager
    {
        public static Scene NewScene(NewSceneSetup setup, NewSceneMode mode) { throw null; }
        public static bool SaveScene(Scene scene, string dstScenePath) { throw null; }
    }
}
