using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>
    /// Accumulates the WORLD.md episode statistics of one arena, step by step, with the twin's
    /// definitions (<c>sim/rules.py</c>): per-hider mean return, hidden post-prep steps, peak object
    /// displacement from the spawn point, lock counts at the end of prep and of the episode,
    /// doors blocked by a locked box at the end of prep, steps with a seeker on top, grabs per agent.
    /// </summary>
    public sealed class EpisodeStatsTracker
    {
        readonly WorldParams m_World;
        readonly ObsLayout m_Layout;
        readonly Vec2[] m_Spawn;
        readonly double[] m_MaxDisp;
        readonly double[] m_MaxDispPrep;
        readonly int[] m_PrepLocks;
        readonly double[] m_Grabs;
        double m_HiderReturn;
        double m_HiddenSteps;
        double m_SeekerTopSteps;
        double m_DoorsBlockedPrep;
        double m_RoomSealedPrep;

        public EpisodeStatsTracker(WorldParams world)
        {
            m_World = world;
            m_Layout = new ObsLayout(world);
            var objects = m_Layout.MaxBoxes + m_Layout.MaxRamps;
            m_Spawn = new Vec2[objects];
            m_MaxDisp = new double[objects];
            m_MaxDispPrep = new double[objects];
            m_PrepLocks = new int[objects];
            m_Grabs = new double[m_Layout.MaxAgents];
        }

        /// <summary>Start a new episode from the spawn snapshot.</summary>
        public void Begin(ArenaSnapshot s)
        {
            for (var o = 0; o < m_Spawn.Length; o++)
            {
                m_Spawn[o] = s.Objects[o].Pos;
                m_MaxDisp[o] = 0;
                m_MaxDispPrep[o] = 0;
                m_PrepLocks[o] = -1;
            }
            for (var a = 0; a < m_Grabs.Length; a++) m_Grabs[a] = 0;
            m_HiderReturn = m_HiddenSteps = m_SeekerTopSteps = m_DoorsBlockedPrep = m_RoomSealedPrep = 0;
        }

        /// <summary>
        /// Add one step. <paramref name="s"/> is the state after the step (its Step already counts it),
        /// <paramref name="inPrep"/> the phase the step was taken in, <paramref name="newGrabs"/> per
        /// slot 1 where the agent started holding something this step, <paramref name="doors"/>
        /// the doors of the episode (for the door-blocking count at the end of prep).
        /// </summary>
        public void Add(ArenaSnapshot s, float[] reward, bool hidden, bool inPrep, bool[] newGrabs, IList<Door> doors)
        {
            for (var o = 0; o < s.Objects.Length; o++)
            {
                var disp = s.Objects[o].Present ? (s.Objects[o].Pos - m_Spawn[o]).Length : 0.0;
                m_MaxDisp[o] = Math.Max(m_MaxDisp[o], disp);
                if (inPrep) m_MaxDispPrep[o] = Math.Max(m_MaxDispPrep[o], disp);
            }
            double sum = 0;
            var hiders = 0;
            var seekerUp = false;
            for (var a = 0; a < s.Agents.Length; a++)
            {
                var ag = s.Agents[a];
                if (!ag.Present) continue;
                if (ag.Team == Team.Hider)
                {
                    sum += reward[a];
                    hiders++;
                }
                else if (Vision.IsRaised(ag.Z, m_World.WallHeight))
                {
                    seekerUp = true;
                }
                if (newGrabs[a]) m_Grabs[a] += 1;
            }
            m_HiderReturn += sum / Math.Max(hiders, 1);
            if (hidden && !inPrep) m_HiddenSteps += 1;
            if (seekerUp) m_SeekerTopSteps += 1;
            if (s.Step == m_World.PrepSteps)
            {
                for (var o = 0; o < s.Objects.Length; o++) m_PrepLocks[o] = s.Objects[o].LockedTeam;
                m_DoorsBlockedPrep = DoorsBlocked(s, doors, -1);
                m_RoomSealedPrep = doors.Count > 0 && DoorsBlocked(s, doors, Contract.HiderTeamId) == doors.Count ? 1 : 0;
            }
        }

        /// <summary>
        /// Doors that no agent fits through because of boxes locked by <paramref name="team"/> (-1: by
        /// either team), as the twin's <c>rules.blocked_doors</c>: a chain of locked boxes runs from one
        /// edge of the door's gap to the other, the first box closer to one door edge and the last to the
        /// other than an agent's diameter (a wall end is a half thickness round), each box to the next
        /// closer than a diameter.
        /// </summary>
        public double DoorsBlocked(ArenaSnapshot s, IList<Door> doors, int team)
        {
            var boxes = new List<OrientedRect>();
            for (var b = 0; b < m_Layout.MaxBoxes; b++)
            {
                var o = s.Objects[b];
                if (!o.Present || o.LockedTeam < 0 || (team >= 0 && o.LockedTeam != team)) continue;
                boxes.Add(new OrientedRect(o.Pos, o.Theta, new Vec2(o.SizeX / 2, o.SizeY / 2)));
            }
            var edgeReach = 2 * m_World.AgentRadius + m_World.WallThickness / 2;
            var count = 0;
            foreach (var door in doors)
            {
                var first = door.Centre - door.Along * (m_World.DoorWidth / 2);
                var last = door.Centre + door.Along * (m_World.DoorWidth / 2);
                var reached = new bool[boxes.Count];
                for (var b = 0; b < boxes.Count; b++) reached[b] = boxes[b].Distance(first) <= edgeReach;
                for (var grew = true; grew;)
                {
                    grew = false;
                    for (var i = 0; i < boxes.Count; i++)
                        for (var j = 0; j < boxes.Count; j++)
                            if (reached[i] && !reached[j] && boxes[i].Gap(boxes[j]) <= 2 * m_World.AgentRadius)
                                reached[j] = grew = true;
                }
                for (var b = 0; b < boxes.Count; b++)
                {
                    if (reached[b] && boxes[b].Distance(last) <= edgeReach)
                    {
                        count++;
                        break;
                    }
                }
            }
            return count;
        }

        /// <summary>The statistics of the finished episode, keyed by <see cref="Contract.EpisodeStats"/> names.</summary>
        public Dictionary<string, float> Finish(ArenaSnapshot s)
        {
            var postPrep = Math.Max(m_World.Horizon - m_World.PrepSteps, 1);
            var boxes = m_Layout.MaxBoxes;
            double grabsH = 0, grabsS = 0;
            int nH = 0, nS = 0;
            for (var a = 0; a < s.Agents.Length; a++)
            {
                if (!s.Agents[a].Present) continue;
                if (s.Agents[a].Team == Team.Hider)
                {
                    grabsH += m_Grabs[a];
                    nH++;
                }
                else
                {
                    grabsS += m_Grabs[a];
                    nS++;
                }
            }
            var d = new Dictionary<string, float>();
            d["hider_return"] = (float)m_HiderReturn;
            d["hidden_fraction"] = (float)(m_HiddenSteps / postPrep);
            d["max_box_displacement_prep"] = (float)Peak(m_MaxDispPrep, 0, boxes);
            d["max_box_displacement"] = (float)Peak(m_MaxDisp, 0, boxes);
            d["max_ramp_displacement_prep"] = (float)Peak(m_MaxDispPrep, boxes, m_Spawn.Length);
            d["max_ramp_displacement"] = (float)Peak(m_MaxDisp, boxes, m_Spawn.Length);
            d["boxes_locked_prep_by_hiders"] = CountLocks(s, m_PrepLocks, 0, boxes, 0);
            d["boxes_locked_prep_by_seekers"] = CountLocks(s, m_PrepLocks, 0, boxes, 1);
            d["ramps_locked_prep_by_hiders"] = CountLocks(s, m_PrepLocks, boxes, m_Spawn.Length, 0);
            d["ramps_locked_prep_by_seekers"] = CountLocks(s, m_PrepLocks, boxes, m_Spawn.Length, 1);
            var endLocks = new int[m_Spawn.Length];
            for (var o = 0; o < endLocks.Length; o++) endLocks[o] = s.Objects[o].LockedTeam;
            d["boxes_locked_end_by_hiders"] = CountLocks(s, endLocks, 0, boxes, 0);
            d["boxes_locked_end_by_seekers"] = CountLocks(s, endLocks, 0, boxes, 1);
            d["ramps_locked_end_by_hiders"] = CountLocks(s, endLocks, boxes, m_Spawn.Length, 0);
            d["ramps_locked_end_by_seekers"] = CountLocks(s, endLocks, boxes, m_Spawn.Length, 1);
            d["doors_blocked_prep"] = (float)m_DoorsBlockedPrep;
            d["room_sealed_prep"] = (float)m_RoomSealedPrep;
            d["seeker_on_top_steps"] = (float)m_SeekerTopSteps;
            d["grabs_per_hider"] = (float)(grabsH / Math.Max(nH, 1));
            d["grabs_per_seeker"] = (float)(grabsS / Math.Max(nS, 1));
            return d;
        }

        static double Peak(double[] values, int from, int to)
        {
            double m = 0;
            for (var i = from; i < to; i++) m = Math.Max(m, values[i]);
            return m;
        }

        static float CountLocks(ArenaSnapshot s, int[] locks, int from, int to, int team)
        {
            var n = 0;
            for (var o = from; o < to; o++)
                if (s.Objects[o].Present && locks[o] == team) n++;
            return n;
        }
    }
}
