using System.Collections;
using System.Collections.Generic;
using HideAndSeek.Core;
using NUnit.Framework;
using Unity.MLAgents.Policies;
using Unity.MLAgents.Sensors;
using UnityEngine;
using UnityEngine.TestTools;

namespace HideAndSeek.Tests
{
    // Runs in the Unity Test Runner (Play Mode) only; CI compiles it against the stubs.
    [TestFixture]
    public class ArenaPlayModeTests
    {
        readonly List<GameObject> m_Roots = new List<GameObject>();

        [TearDown]
        public void TearDown()
        {
            // Destroy is deferred to the end of the frame, so the next test's builder may start
            // first: the shared state channel makes that safe (GlobalStateChannel.Shared).
            foreach (var root in m_Roots)
                if (root != null) Object.Destroy(root);
            m_Roots.Clear();
        }

        ArenaBuilder Build(int arenas)
        {
            var root = new GameObject("HideAndSeekTest");
            m_Roots.Add(root);
            root.SetActive(false);
            var builder = root.AddComponent<ArenaBuilder>();
            builder.NumArenas = arenas;
            builder.BehaviorType = BehaviorType.HeuristicOnly;
            builder.HumanSlot = -1;
            root.SetActive(true);   // Awake builds the arenas and activates the agents
            return builder;
        }

        [UnityTest]
        public IEnumerator BuildersAliveTogetherShareOneRegisteredStateChannel()
        {
            var first = Build(1);
            // A second builder before the first is destroyed: registering the channel id twice would throw.
            var second = Build(1);
            Assert.AreSame(first.StateChannel, second.StateChannel);
            Assert.AreEqual(2, GlobalStateChannel.Shared.Users);
            Object.Destroy(first.gameObject);
            yield return null;
            Assert.AreEqual(1, GlobalStateChannel.Shared.Users, "destroying one builder releases only its use");
        }

        [UnityTest]
        public IEnumerator TheFirstEpisodeIsEpisodeZeroOfTheSeedStream()
        {
            var builder = Build(2);
            for (var i = 0; i < builder.DecisionPeriod * 2; i++) yield return new WaitForFixedUpdate();
            foreach (var arena in builder.Arenas)
            {
                // The Academy's first reset re-lays episode 0 instead of moving on to episode 1.
                Assert.AreEqual(0, arena.Episode);
                var expected = LayoutGenerator.Generate(builder.World, builder.Seed + arena.Index, 0);
                for (var i = 0; i < expected.Walls.Count; i++)
                    Assert.AreEqual(expected.Walls[i].Present ? 1f : 0f, ObsPacker.State(arena.Snapshot)[
                        new ObsLayout(builder.World).StateSize - 2 - 5 * (expected.Walls.Count - i)], "wall slot " + i);
            }
        }

        [UnityTest]
        public IEnumerator AgentsFollowTheContract()
        {
            var builder = Build(2);
            yield return null;
            var layout = new ObsLayout(builder.World);
            Assert.AreEqual(2, builder.Arenas.Count);
            foreach (var arena in builder.Arenas)
            {
                for (var slot = 0; slot < layout.MaxAgents; slot++)
                {
                    var agent = arena.AgentAt(slot);
                    var hider = slot < layout.MaxHiders;
                    var bp = agent.GetComponent<BehaviorParameters>();
                    Assert.AreEqual(hider ? Contract.HiderBehavior : Contract.SeekerBehavior, bp.BehaviorName);
                    Assert.AreEqual(hider ? Contract.HiderTeamId : Contract.SeekerTeamId, bp.TeamId);
                    Assert.AreEqual(0, bp.BrainParameters.VectorObservationSize);
                    CollectionAssert.AreEqual(Contract.ActionBranches, bp.BrainParameters.ActionSpec.BranchSizes);
                    var buffers = agent.GetComponents<BufferSensorComponent>();
                    Assert.AreEqual(3, buffers.Length);
                    Assert.AreEqual(Contract.SensorNames[1], buffers[0].SensorName);
                    Assert.AreEqual(layout.AgentRows, buffers[0].MaxNumObservables);
                    Assert.AreEqual(Contract.AgentColumns.Length, buffers[0].ObservableSize);
                    Assert.AreEqual(layout.BoxRows, buffers[1].MaxNumObservables);
                    Assert.AreEqual(layout.RampRows, buffers[2].MaxNumObservables);
                    Assert.AreEqual(layout.SelfSize, agent.GetComponent<SelfSensorComponent>().ObservationSize);
                }
            }
        }

        [UnityTest]
        public IEnumerator ArenaAdvancesOneStepPerDecisionAndKeepsAgentsInside()
        {
            var builder = Build(1);
            var arena = builder.Arenas[0];
            for (var i = 0; i < builder.DecisionPeriod * 6; i++) yield return new WaitForFixedUpdate();
            // The first decision of an episode only observes; every later one is one contract step.
            Assert.GreaterOrEqual(arena.Snapshot.Step, 3);
            Assert.LessOrEqual(arena.Snapshot.Step, 6);
            var half = builder.World.FloorSize / 2;
            foreach (var a in arena.Snapshot.Agents)
            {
                Assert.IsTrue(a.Present);
                Assert.Less(System.Math.Abs(a.Pos.X), half);
                Assert.Less(System.Math.Abs(a.Pos.Y), half);
                Assert.Less(a.Z, 0.05, "standing agents stay on the floor");
            }
            Assert.AreEqual(builder.World.LidarRays, arena.Snapshot.Lidar.GetLength(1));
        }
    }
}
