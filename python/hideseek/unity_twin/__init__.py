"""The batched twin simulator behind the Unity ML-Agents protocol: a stand-in for a Linux Unity
player (``builds/twin/HideAndSeekTwin.x86_64``) that ``mlagents_envs.UnityEnvironment`` launches
and drives exactly like the real build. See docs/unity_path.md."""
