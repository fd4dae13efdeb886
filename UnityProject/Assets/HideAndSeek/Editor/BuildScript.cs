using System;
using System.IO;
using UnityEditor;
using UnityEditor.Build.Reporting;
using UnityEngine;

namespace HideAndSeek.Editor
{
    /// <summary>
    /// Headless player builds, run as
    /// <c>Unity -batchmode -nographics -quit -projectPath UnityProject -executeMethod HideAndSeek.Editor.BuildScript.BuildLinuxServer</c>.
    /// Writes <c>builds/linux/HideAndSeek.x86_64</c> (next to UnityProject/) and exits non-zero on failure.
    /// </summary>
    public static class BuildScript
    {
        public const string ExecutableName = "HideAndSeek.x86_64";

        [MenuItem("Hide and Seek/Build Linux Server")]
        public static void BuildLinuxServer()
        {
            var projectRoot = Directory.GetParent(Application.dataPath).FullName;
            var output = Path.GetFullPath(Path.Combine(projectRoot, "..", "builds", "linux", ExecutableName));
            Directory.CreateDirectory(Path.GetDirectoryName(output));
            SceneGenerator.GenerateTrainingScene();

            // A trainer steps the player as fast as it can; it must keep running without focus.
            PlayerSettings.runInBackground = true;
            var options = new BuildPlayerOptions
            {
                scenes = new[] { SceneGenerator.TrainingScene },
                locationPathName = output,
                target = BuildTarget.StandaloneLinux64,
                targetGroup = BuildTargetGroup.Standalone,
                subtarget = (int)StandaloneBuildSubtarget.Server,
                options = BuildOptions.None,
            };
            var report = BuildPipeline.BuildPlayer(options);
            var summary = report.summary;
            if (summary.result != BuildResult.Succeeded)
            {
                Debug.LogError("BuildScript: Linux server build " + summary.result + " with " + summary.totalErrors + " errors");
                if (Application.isBatchMode) EditorApplication.Exit(1);
                return;
            }
            Debug.Log("BuildScript: wrote " + output + " (" + summary.totalSize + " bytes)");
        }
    }
}
