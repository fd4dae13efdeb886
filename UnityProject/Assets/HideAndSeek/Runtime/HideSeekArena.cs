using System;
using System.Collections.Generic;
using HideAndSeek.Core;
using Unity.MLAgents;
using UnityEngine;

namespace HideAndSeek
{
    /// <summary>
    /// One training arena: its entities, its two SimpleMultiAgentGroups, and the episode loop.
    /// Once per decision (before the agents collect observations) it reads the physics state into an
    /// <see cref="ArenaSnapshot"/>, computes vision and lidar by raycasts, hands out the joint
    /// zero-sum rewards for the step just simulated, accumulates the statistics, ends the episode at
    /// the horizon and sends the critic state on the <see cref="GlobalStateChannel"/>.
    /// </summary>
    public class HideSeekArena : MonoBehaviour
    {
        public int Index { get; private set; }
        public WorldParams World { get; private set; }
        public ArenaSnapshot Snapshot { get; private set; }

        ArenaBuilder m_Builder;
        ObsLayout m_Layout;
        HideSeekAgent[] m_Agents;
        Pushable[] m_Objects;
        GameObject[] m_Walls;
        SimpleMultiAgentGroup m_Hiders;
        SimpleMultiAgentGroup m_Seekers;
        EpisodeStatsTracker m_Stats;
        ArenaLayout m_Layout0;
        readonly EpisodeCounter m_Episodes = new EpisodeCounter();
        bool m_FirstDecision;
        bool[] m_NewGrabs;
        bool[] m_InGroup;
        // Heights rules (Core Heights): box poses at the last physics step, each agent's box then.
        OrientedRect[] m_BoxPoses;
        OrientedRect[] m_BoxPosesBefore;
        bool[] m_BoxPresent;
        int[] m_RiderOf;
        readonly RaycastHit[] m_Hits = new RaycastHit[32];
        readonly List<ReachCandidate> m_Candidates = new List<ReachCandidate>();
        static bool s_WarnedKeyboard;

        public HideSeekAgent AgentAt(int slot)
        {
            return m_Agents[slot];
        }

        public bool IsHumanSlot(int slot)
        {
            return m_Builder != null && Index == 0 && slot == m_Builder.HumanSlot;
        }

        public void WarnNoKeyboardOnce()
        {
            if (s_WarnedKeyboard) return;
            s_WarnedKeyboard = true;
            Debug.LogWarning("HideSeekAgent.Heuristic reads the legacy Input Manager; set Project Settings > Player > " +
                             "Active Input Handling to 'Input Manager (Old)' or 'Both' for keyboard play.");
        }

        /// <summary>The objects agent <paramref name="slot"/> holds (usually none or one).</summary>
        public IEnumerable<Pushable> HeldBy(int slot)
        {
            foreach (var o in m_Objects)
                if (o.HeldBy == slot) yield return o;
        }

        /// <summary>Create every entity of the arena (agents stay inactive until <see cref="ActivateAgents"/>).</summary>
        public void Build(ArenaBuilder builder, int index, WorldParams world, PolicySettings policy)
        {
            if (transform.rotation != Quaternion.identity)
                throw new InvalidOperationException("HideSeekArena " + index + ": arenas must not be rotated (arena frame = world axes)");
            m_Builder = builder;
            Index = index;
            World = world;
            m_Layout = new ObsLayout(world);
            Snapshot = new ArenaSnapshot(world);
            m_Stats = new EpisodeStatsTracker(world);
            m_NewGrabs = new bool[m_Layout.MaxAgents];

            ArenaFactory.Floor(transform, world);
            m_Walls = new GameObject[LayoutGenerator.MaxWalls(world)];
            for (var i = 0; i < m_Walls.Length; i++) m_Walls[i] = ArenaFactory.WallSlot(transform, i);
            m_Objects = new Pushable[m_Layout.MaxBoxes + m_Layout.MaxRamps];
            for (var b = 0; b < m_Layout.MaxBoxes; b++) m_Objects[b] = ArenaFactory.Box(this, b, world);
            for (var r = 0; r < m_Layout.MaxRamps; r++)
                m_Objects[m_Layout.MaxBoxes + r] = ArenaFactory.Ramp(this, r, m_Layout.MaxBoxes + r, world);
            m_Agents = new HideSeekAgent[m_Layout.MaxAgents];
            for (var a = 0; a < m_Agents.Length; a++) m_Agents[a] = ArenaFactory.Agent(this, a, world, policy);
            m_BoxPoses = new OrientedRect[m_Layout.MaxBoxes];
            m_BoxPosesBefore = new OrientedRect[m_Layout.MaxBoxes];
            m_BoxPresent = new bool[m_Layout.MaxBoxes];
            m_RiderOf = new int[m_Agents.Length];
        }

        /// <summary>Episode index (in this arena's seed stream) of the layout in play.</summary>
        public long Episode { get { return m_Episodes.Current; } }

        /// <summary>
        /// The Heights rules PhysX does not give (Core <see cref="Heights"/>), once per physics step,
        /// before the step: a rider takes the motion its box made in the last step, and an agent
        /// on a wall or box top is held at the top height, so it can walk along 0.1 m wall tops.
        /// </summary>
        void FixedUpdate()
        {
            if (m_Agents == null || m_Layout0 == null) return;
            // Last step's poses become "before"; this step's go into the other buffer (no allocation).
            var before = m_BoxPoses;
            m_BoxPoses = m_BoxPosesBefore;
            m_BoxPosesBefore = before;
            for (var b = 0; b < m_BoxPoses.Length; b++)
            {
                m_BoxPresent[b] = m_Objects[b].Present;
                m_BoxPoses[b] = m_Objects[b].Footprint;
            }
            for (var a = 0; a < m_Agents.Length; a++)
            {
                var agent = m_Agents[a];
                if (!agent.Present || agent.Body.isKinematic)
                {
                    m_RiderOf[a] = -1;
                    continue;
                }
                var box = m_RiderOf[a];
                if (Heights.Rides(box, m_Objects[Math.Max(box, 0)].HeldBy, a) && m_BoxPresent[box])
                    agent.Carry(Heights.Carry(before[box], m_BoxPoses[box], agent.ArenaPosition) - agent.ArenaPosition,
                        Heights.CarryYaw(before[box], m_BoxPoses[box]));
                var support = Heights.Find(agent.ArenaPosition, agent.Feet, m_BoxPoses, m_BoxPresent, m_Layout0.Walls, World);
                agent.HoldFeetAt(Heights.HoldFeet(support, agent.Feet, World));
                m_RiderOf[a] = support.Box;
            }
        }

        /// <summary>
        /// Activate the agents in slot order (ML-Agents gives each Agent its fixed episode id at
        /// OnEnable, in this order) and register them with their team's group.
        /// </summary>
        public void ActivateAgents()
        {
            m_Hiders = new SimpleMultiAgentGroup();
            m_Seekers = new SimpleMultiAgentGroup();
            m_InGroup = new bool[m_Agents.Length];
            foreach (var agent in m_Agents)
            {
                agent.gameObject.SetActive(true);
                (agent.Team == Team.Hider ? m_Hiders : m_Seekers).RegisterAgent(agent);
                // Absent agents stay registered, so group rewards reach them too (RewardRule.IndividualParts).
                m_InGroup[agent.Slot] = true;
            }
        }

        void OnDestroy()
        {
            if (m_Hiders != null) m_Hiders.Dispose();
            if (m_Seekers != null) m_Seekers.Dispose();
        }

        /// <summary>The start-up layout: episode 0 of this arena's seed stream.</summary>
        public void StartUp(WorldParams world)
        {
            LayOut(world, m_Episodes.Current);
        }

        /// <summary>An environment reset; after a new seed the stream starts again at episode 0.</summary>
        public void OnEnvironmentReset(WorldParams world, bool reseed)
        {
            if (reseed) m_Episodes.Reseed();
            LayOut(world, m_Episodes.OnEnvironmentReset());
        }

        /// <summary>
        /// The layout of one episode of this arena's seed stream: arena k of a builder seeded s uses
        /// seed s + k, as arena k of the twin's batch, so both lay out the same episodes.
        /// </summary>
        void LayOut(WorldParams world, long episode)
        {
            World = world;
            Snapshot = new ArenaSnapshot(world);
            m_Stats = new EpisodeStatsTracker(world);
            var layout = LayoutGenerator.Generate(world, (long)m_Builder.Seed + Index, episode);
            m_Layout0 = layout;
            Snapshot.SetWalls(layout.Walls);
            for (var a = 0; a < m_RiderOf.Length; a++) m_RiderOf[a] = -1;
            for (var i = 0; i < m_Walls.Length; i++)
                ArenaFactory.PlaceWall(m_Walls[i], layout.Walls[i].Present ? layout.Walls[i] : (WallSegment?)null, world);
            for (var b = 0; b < m_Layout.MaxBoxes; b++)
            {
                var sp = layout.Boxes[b];
                var box = m_Objects[b];
                ArenaFactory.Resize(box, box.transform.GetChild(0).gameObject, world, sp.Elongated);
                box.Spawn(sp.Present, Feet(sp.Pos), (float)Frames.UnityYawDegFromTheta(sp.Theta), Parking(b));
            }
            for (var r = 0; r < m_Layout.MaxRamps; r++)
            {
                var sp = layout.Ramps[r];
                var o = m_Layout.MaxBoxes + r;
                m_Objects[o].Spawn(sp.Present, Feet(sp.Pos), (float)Frames.UnityYawDegFromTheta(sp.Theta), Parking(o));
            }
            for (var a = 0; a < m_Agents.Length; a++)
            {
                var sp = layout.Agents[a];
                m_Agents[a].Spawn(sp.Present, Feet(sp.Pos), (float)Frames.UnityYawDegFromTheta(sp.Theta),
                    Parking(m_Objects.Length + a));
            }
            // Raycasts must see the teleported colliders before the first observation.
            Physics.SyncTransforms();
            Snapshot.Step = 0;
            Observe();
            m_Stats.Begin(Snapshot);
            m_FirstDecision = true;
        }

        static Vector3 Feet(Vec2 p)
        {
            return new Vector3((float)p.X, 0f, (float)p.Y);
        }

        /// <summary>Absent entities wait below the floor, far from everything, one spot each.</summary>
        Vector3 Parking(int k)
        {
            return new Vector3((float)(k * 2.0), -20f, (float)(World.FloorSize * 2));
        }

        /// <summary>Called by the builder on every Academy step, before any DecisionRequester.</summary>
        public void OnAcademyPreStep(int academyStep, int decisionPeriod)
        {
            if (!StepTiming.IsDecisionStep(academyStep, decisionPeriod)) return;
            if (m_FirstDecision)
            {
                // Nothing was simulated since the reset: observe, tell the critic, no reward.
                m_FirstDecision = false;
                Observe();
                SendState();
                return;
            }
            var inPrep = Snapshot.Phase.InPrep;   // the phase the last action was taken in
            Snapshot.Step++;
            Observe();
            var hidden = !AnySeekerSeesHider();
            var teams = new Team[m_Agents.Length];
            var present = new bool[m_Agents.Length];
            var outside = new bool[m_Agents.Length];
            for (var a = 0; a < m_Agents.Length; a++)
            {
                teams[a] = Snapshot.Agents[a].Team;
                present[a] = Snapshot.Agents[a].Present;
                outside[a] = RewardRule.OutOfBounds(Snapshot.Agents[a].Pos, World.FloorSize);
            }
            // Each agent is paid its own reward plus its group's: together the rule's total, no more.
            var reward = RewardRule.Compute(!hidden, inPrep, teams, present, outside, World.OobPenalty);
            var hiderGroup = RewardRule.GroupReward(Team.Hider, !hidden, inPrep);
            var seekerGroup = RewardRule.GroupReward(Team.Seeker, !hidden, inPrep);
            var individual = RewardRule.IndividualParts(reward, teams, m_InGroup, hiderGroup, seekerGroup);
            for (var a = 0; a < m_Agents.Length; a++) m_Agents[a].AddReward(individual[a]);
            m_Hiders.AddGroupReward(hiderGroup);
            m_Seekers.AddGroupReward(seekerGroup);
            m_Stats.Add(Snapshot, reward, hidden, inPrep, m_NewGrabs, m_Layout0.Doors);
            for (var a = 0; a < m_NewGrabs.Length; a++) m_NewGrabs[a] = false;

            if (Snapshot.Step >= World.Horizon)
            {
                var stats = m_Stats.Finish(Snapshot);
                var recorder = Academy.Instance.StatsRecorder;
                foreach (var name in Contract.EpisodeStats)
                    recorder.Add(Contract.StatsPrefix + name, stats[name], StatAggregationMethod.Average);
                // The final state (step == horizon) goes with the terminal observations sent below.
                SendState();
                m_Hiders.GroupEpisodeInterrupted();
                m_Seekers.GroupEpisodeInterrupted();
                LayOut(m_Builder.ReadWorld(startup: false), m_Episodes.OnEpisodeEnd());
                m_FirstDecision = false;
            }
            SendState();
        }

        /// <summary>The critic state, only when the Python side asked for it (a plain ML-Agents trainer does not know the channel).</summary>
        void SendState()
        {
            if (!m_Builder.GlobalStateRequested) return;
            m_Builder.StateChannel.Send(Index, Snapshot.Step, ObsPacker.State(Snapshot));
        }

        bool AnySeekerSeesHider()
        {
            for (var v = 0; v < m_Agents.Length; v++)
            {
                if (Snapshot.Agents[v].Team != Team.Seeker) continue;
                for (var t = 0; t < m_Agents.Length; t++)
                    if (Snapshot.Agents[t].Team == Team.Hider && Snapshot.SeenAgents[v, t]) return true;
            }
            return false;
        }

        /// <summary>Read the physics state into the snapshot, then vision and lidar.</summary>
        void Observe()
        {
            var s = Snapshot;
            for (var a = 0; a < m_Agents.Length; a++) s.Agents[a] = m_Agents[a].Snapshot();
            for (var o = 0; o < m_Objects.Length; o++) s.Objects[o] = m_Objects[o].Snapshot();
            var top = World.WallHeight;
            for (var v = 0; v < m_Agents.Length; v++)
            {
                var viewer = s.Agents[v];
                for (var t = 0; t < m_Agents.Length; t++)
                    s.SeenAgents[v, t] = viewer.Present && t != v && s.Agents[t].Present &&
                        Vision.Sees(Vision.InCone(viewer.Pos, viewer.Theta, s.Agents[t].Pos, World.VisionConeDeg),
                            Vision.IsRaised(viewer.Z, top), Occluded(viewer.Pos, s.Agents[t].Pos, null));
                for (var o = 0; o < m_Objects.Length; o++)
                    s.SeenObjects[v, o] = viewer.Present && s.Objects[o].Present &&
                        Vision.Sees(Vision.InCone(viewer.Pos, viewer.Theta, s.Objects[o].Pos, World.VisionConeDeg),
                            Vision.IsRaised(viewer.Z, top), Occluded(viewer.Pos, s.Objects[o].Pos, m_Objects[o]));
                for (var r = 0; r < World.LidarRays; r++)
                    s.Lidar[v, r] = viewer.Present ? Lidar(viewer.Pos, Vision.LidarAngle(viewer.Theta, r, World.LidarRays)) : 1f;
            }
        }

        /// <summary>Sight lines and lidar run in the horizontal plane at half the wall height.</summary>
        Vector3 SightPoint(Vec2 p)
        {
            return transform.TransformPoint(new Vector3((float)p.X, (float)(World.WallHeight / 2), (float)p.Y));
        }

        /// <summary>Does a wall, box or ramp other than <paramref name="target"/> cross the sight line?</summary>
        bool Occluded(Vec2 from, Vec2 to, Pushable target)
        {
            var a = SightPoint(from);
            var d = SightPoint(to) - a;
            var dist = d.magnitude;
            if (dist < 1e-6f) return false;
            var n = Physics.RaycastNonAlloc(a, d / dist, m_Hits, dist, Layers.SightMask, QueryTriggerInteraction.Collide);
            for (var i = 0; i < n; i++)
            {
                var owner = m_Hits[i].collider.GetComponentInParent<Pushable>();
                if (target != null && owner == target) continue;
                if (!BelongsHere(m_Hits[i].collider)) continue;
                return true;
            }
            return false;
        }

        float Lidar(Vec2 from, double angle)
        {
            var a = SightPoint(from);
            var dir = new Vector3((float)Math.Cos(angle), 0f, (float)Math.Sin(angle));
            var n = Physics.RaycastNonAlloc(a, dir, m_Hits, (float)World.LidarRange, Layers.SightMask, QueryTriggerInteraction.Collide);
            double? nearest = null;
            for (var i = 0; i < n; i++)
            {
                if (!BelongsHere(m_Hits[i].collider)) continue;
                if (!nearest.HasValue || m_Hits[i].distance < nearest.Value) nearest = m_Hits[i].distance;
            }
            return Vision.LidarFraction(nearest, World.LidarRange);
        }

        /// <summary>Arenas sit side by side; rays must ignore the neighbours' walls.</summary>
        bool BelongsHere(Collider c)
        {
            return c.transform.IsChildOf(transform);
        }

        /// <summary>Grab and lock for one agent's decision (agents act in slot order, so the lowest slot wins ties).</summary>
        public void Interact(HideSeekAgent agent, bool grab, bool lockAction)
        {
            var slot = agent.Slot;
            var holding = -1;
            for (var o = 0; o < m_Objects.Length; o++)
                if (m_Objects[o].HeldBy == slot) holding = o;
            if (!grab && holding >= 0) m_Objects[holding].Release();
            if (!agent.Present) return;
            if (grab && holding < 0)
            {
                var target = LockRules.GrabTarget(Candidates(slot), World.GrabDistance);
                if (target >= 0)
                {
                    m_Objects[target].Grab(slot, agent.Body, agent.BodyCollider);
                    m_NewGrabs[slot] = m_Objects[target].HeldBy == slot;
                }
            }
            if (lockAction)
            {
                foreach (var change in LockRules.LockChanges(Candidates(slot), (int)agent.Team, World.LockDistance))
                    m_Objects[change.Key].SetLock(change.Value);
            }
        }

        /// <summary>Reach candidates of an agent from the last observation (what it saw) and the current lock/hold state.</summary>
        List<ReachCandidate> Candidates(int slot)
        {
            m_Candidates.Clear();
            var pos = Snapshot.Agents[slot].Pos;
            for (var o = 0; o < m_Objects.Length; o++)
            {
                var obj = m_Objects[o];
                if (!obj.Present) continue;
                m_Candidates.Add(new ReachCandidate
                {
                    Object = o,
                    Gap = obj.Footprint.Distance(pos) - World.AgentRadius,
                    Seen = Snapshot.SeenObjects[slot, o],
                    LockedTeam = obj.LockedTeam,
                    HeldBy = obj.HeldBy,
                });
            }
            return m_Candidates;
        }
    }
}
