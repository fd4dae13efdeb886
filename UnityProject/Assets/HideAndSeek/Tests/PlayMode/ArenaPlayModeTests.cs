using System.Collections;
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
        GameObject m_Root;

        [TearDown]
        public void TearDown()
        {
            if (m_Root != null) Object.Destroy(m_Root);
            m_Root = null;
        }

        ArenaBuilder Build(int arenas)
        {
            m_Root = new GameObject("HideAndSeekTest");
            m_Root.SetActive(false);
            var builder = m_Root.AddComponent<ArenaBuilder>();
            builder.NumArenas = arenas;
            builder.BehaviorType = BehaviorType.HeuristicOnly;
            builder.HumanSlot = -1;
            m_Root.SetActive(true);   // Awake builds the arenas and activates the agents
            return builder;
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
