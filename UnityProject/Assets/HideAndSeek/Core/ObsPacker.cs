using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>One agent slot in the arena frame (metres, m/s, rad, rad/s).</summary>
    public struct AgentSnapshot
    {
        public bool Present;
        public Team Team;
        public Vec2 Pos;
        /// <summary>Height of the feet above the floor.</summary>
        public double Z;
        public Vec2 Vel;
        public double Theta;
        public double AngVel;
    }

    /// <summary>One box or ramp in the arena frame.</summary>
    public struct ObjectSnapshot
    {
        public bool Present;
        public Vec2 Pos;
        /// <summary>Height of the object's base above the floor (0 on the floor).</summary>
        public double Z;
        public Vec2 Vel;
        public double Theta;
        /// <summary>Footprint along the object's local x (its heading; a ramp rises along it) and y.</summary>
        public double SizeX;
        public double SizeY;
        /// <summary>-1 unlocked, 0 hiders, 1 seekers.</summary>
        public int LockedTeam;
        /// <summary>Slot of the holder, -1 none.</summary>
        public int HeldBy;
    }

    /// <summary>
    /// Everything the observations and the critic state are made of, for one arena at one decision.
    /// Boxes occupy object indices [0, MaxBoxes), ramps follow.
    /// </summary>
    public sealed class ArenaSnapshot
    {
        public readonly WorldParams World;
        public readonly ObsLayout Layout;
        public readonly AgentSnapshot[] Agents;
        public readonly ObjectSnapshot[] Objects;
        /// <summary>[viewer, target] for agents and objects.</summary>
        public readonly bool[,] SeenAgents;
        public readonly bool[,] SeenObjects;
        /// <summary>[agent, ray] lidar fractions (1 = nothing hit).</summary>
        public readonly float[,] Lidar;
        /// <summary>The episode's wall slots (<see cref="ArenaLayout.Walls"/>), for the critic state.</summary>
        public readonly WallSegment[] Walls;
        public int Step;

        public ArenaSnapshot(WorldParams world)
        {
            World = world;
            Layout = new ObsLayout(world);
            Agents = new AgentSnapshot[Layout.MaxAgents];
            Objects = new ObjectSnapshot[Layout.MaxBoxes + Layout.MaxRamps];
            SeenAgents = new bool[Agents.Length, Agents.Length];
            SeenObjects = new bool[Agents.Length, Objects.Length];
            Lidar = new float[Agents.Length, world.LidarRays];
            Walls = new WallSegment[Layout.MaxWalls];
            for (var i = 0; i < Agents.Length; i++)
            {
                Agents[i].Team = Layout.TeamOf(i);
                for (var r = 0; r < world.LidarRays; r++) Lidar[i, r] = 1f;
            }
            for (var o = 0; o < Objects.Length; o++)
            {
                Objects[o].LockedTeam = -1;
                Objects[o].HeldBy = -1;
            }
        }

        public Phase Phase
        {
            get { return Phase.At(Step, World); }
        }

        /// <summary>Copy the episode's wall slots (the layout has exactly one per slot).</summary>
        public void SetWalls(IList<WallSegment> walls)
        {
            if (walls.Count != Walls.Length)
                throw new ArgumentException("layout has " + walls.Count + " wall slots, the " + World.Scenario +
                                            " critic state expects " + Walls.Length);
            for (var i = 0; i < Walls.Length; i++) Walls[i] = walls[i];
        }
    }

    /// <summary>
    /// Packs obs_0..obs_3 and the critic state in the contract's column order
    /// (<c>hideseek.contract</c>; the same formulas as the twin's <c>sim/sensors.py</c>).
    /// </summary>
    public static class ObsPacker
    {
        /// <summary>obs_0 of <paramref name="slot"/>: self columns then lidar; all zero for an absent slot.</summary>
        public static float[] Self(ArenaSnapshot s, int slot)
        {
            var w = s.World;
            var f = w.FloorSize;
            var a = s.Agents[slot];
            var obs = new float[s.Layout.SelfSize];
            if (!a.Present) return obs;
            var phase = s.Phase;
            obs[0] = (float)(a.Pos.X / f);
            obs[1] = (float)(a.Pos.Y / f);
            obs[2] = (float)(a.Z / f);
            obs[3] = (float)(a.Vel.X / f);
            obs[4] = (float)(a.Vel.Y / f);
            obs[5] = (float)Math.Sin(a.Theta);
            obs[6] = (float)Math.Cos(a.Theta);
            obs[7] = (float)(a.AngVel / w.AngularSpeedScale);
            obs[8] = a.Team == Team.Hider ? 1f : 0f;
            obs[9] = phase.PrepLeft;
            obs[10] = phase.EpisodeLeft;
            for (var r = 0; r < w.LidarRays; r++) obs[Contract.SelfBaseColumns.Length + r] = s.Lidar[slot, r];
            return obs;
        }

        /// <summary>obs_1 row of <paramref name="target"/> seen by <paramref name="viewer"/>; zeros if not seen.</summary>
        public static float[] AgentRow(ArenaSnapshot s, int viewer, int target)
        {
            var row = new float[Contract.AgentColumns.Length];
            var v = s.Agents[viewer];
            var t = s.Agents[target];
            if (!v.Present || !t.Present || !s.SeenAgents[viewer, target]) return row;
            var f = s.World.FloorSize;
            row[0] = 1f;
            row[1] = (float)((t.Pos.X - v.Pos.X) / f);
            row[2] = (float)((t.Pos.Y - v.Pos.Y) / f);
            row[3] = (float)((t.Z - v.Z) / f);
            row[4] = (float)(t.Vel.X / f);
            row[5] = (float)(t.Vel.Y / f);
            row[6] = (float)Math.Sin(t.Theta);
            row[7] = (float)Math.Cos(t.Theta);
            row[8] = t.Team == v.Team ? 1f : 0f;
            row[9] = t.Team == Team.Hider ? 1f : 0f;
            return row;
        }

        /// <summary>obs_2/obs_3 row of object <paramref name="obj"/> seen by <paramref name="viewer"/>; zeros if not seen.</summary>
        public static float[] ObjectRow(ArenaSnapshot s, int viewer, int obj)
        {
            var row = new float[Contract.ObjectColumns.Length];
            var v = s.Agents[viewer];
            var o = s.Objects[obj];
            if (!v.Present || !o.Present || !s.SeenObjects[viewer, obj]) return row;
            var f = s.World.FloorSize;
            var team = (int)v.Team;
            row[0] = 1f;
            row[1] = (float)((o.Pos.X - v.Pos.X) / f);
            row[2] = (float)((o.Pos.Y - v.Pos.Y) / f);
            row[3] = (float)((o.Z - v.Z) / f);
            row[4] = (float)(o.Vel.X / f);
            row[5] = (float)(o.Vel.Y / f);
            row[6] = (float)Math.Sin(o.Theta);
            row[7] = (float)Math.Cos(o.Theta);
            row[8] = (float)(o.SizeX / f);
            row[9] = (float)(o.SizeY / f);
            row[10] = o.LockedTeam == team ? 1f : 0f;
            row[11] = o.LockedTeam >= 0 && o.LockedTeam != team ? 1f : 0f;
            row[12] = o.HeldBy == viewer ? 1f : 0f;
            row[13] = o.HeldBy >= 0 && o.HeldBy != viewer ? 1f : 0f;
            return row;
        }

        /// <summary>All obs_1 rows of a viewer: the other slots in index order (self skipped), padded to the layout's rows.</summary>
        public static float[][] AgentRows(ArenaSnapshot s, int viewer)
        {
            var rows = new float[s.Layout.AgentRows][];
            var k = 0;
            for (var j = 0; j < s.Agents.Length; j++)
            {
                if (j == viewer) continue;
                rows[k++] = AgentRow(s, viewer, j);
            }
            for (; k < rows.Length; k++) rows[k] = new float[Contract.AgentColumns.Length];
            return rows;
        }

        /// <summary>obs_2 (boxes) or obs_3 (ramps) rows of a viewer, padded to the layout's rows.</summary>
        public static float[][] ObjectRows(ArenaSnapshot s, int viewer, bool ramps)
        {
            var first = ramps ? s.Layout.MaxBoxes : 0;
            var count = ramps ? s.Layout.MaxRamps : s.Layout.MaxBoxes;
            var rows = new float[ramps ? s.Layout.RampRows : s.Layout.BoxRows][];
            for (var k = 0; k < rows.Length; k++)
                rows[k] = k < count ? ObjectRow(s, viewer, first + k) : new float[Contract.ObjectColumns.Length];
            return rows;
        }

        /// <summary>
        /// The flat critic state (WORLD.md "Centralized critic input", the twin's <c>global_state</c>):
        /// [agents: present + full obs_0 | boxes | ramps | walls: present, x1, y1, x2, y2 | prep_left, episode_left].
        /// </summary>
        public static float[] State(ArenaSnapshot s)
        {
            var w = s.World;
            var f = w.FloorSize;
            var state = new float[s.Layout.StateSize];
            var i = 0;
            for (var a = 0; a < s.Agents.Length; a++)
            {
                if (s.Agents[a].Present)
                {
                    state[i] = 1f;
                    Array.Copy(Self(s, a), 0, state, i + 1, s.Layout.SelfSize);
                }
                i += 1 + s.Layout.SelfSize;
            }
            foreach (var o in s.Objects)
            {
                if (o.Present)
                {
                    var holderTeam = o.HeldBy >= 0 ? (int)s.Agents[o.HeldBy].Team : -1;
                    state[i + 0] = 1f;
                    state[i + 1] = (float)(o.Pos.X / f);
                    state[i + 2] = (float)(o.Pos.Y / f);
                    state[i + 3] = (float)(o.Z / f);
                    state[i + 4] = (float)(o.Vel.X / f);
                    state[i + 5] = (float)(o.Vel.Y / f);
                    state[i + 6] = (float)Math.Sin(o.Theta);
                    state[i + 7] = (float)Math.Cos(o.Theta);
                    state[i + 8] = (float)(o.SizeX / f);
                    state[i + 9] = (float)(o.SizeY / f);
                    state[i + 10] = o.LockedTeam == 0 ? 1f : 0f;
                    state[i + 11] = o.LockedTeam == 1 ? 1f : 0f;
                    state[i + 12] = holderTeam == 0 ? 1f : 0f;
                    state[i + 13] = holderTeam == 1 ? 1f : 0f;
                }
                i += Contract.StateObjectColumns.Length;
            }
            foreach (var wall in s.Walls)
            {
                if (wall.Present)
                {
                    state[i + 0] = 1f;
                    state[i + 1] = (float)(wall.A.X / f);
                    state[i + 2] = (float)(wall.A.Y / f);
                    state[i + 3] = (float)(wall.B.X / f);
                    state[i + 4] = (float)(wall.B.Y / f);
                }
                i += Contract.StateWallColumns.Length;
            }
            var phase = s.Phase;
            state[i] = phase.PrepLeft;
            state[i + 1] = phase.EpisodeLeft;
            return state;
        }
    }
}
