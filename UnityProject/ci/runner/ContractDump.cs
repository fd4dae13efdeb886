// The C# side of the contract as JSON (TestRunner --dump-contract): compiled-in scenario defaults,
// the observation/state layout, names and ids, and one packed sample per scenario that
// tests/test_unity_parity.py re-packs with the Python twin and compares.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using HideAndSeek.Core;

namespace HideAndSeek.CI
{
    public static class ContractDump
    {
        public static string Json()
        {
            var root = new Dictionary<string, object>();
            root["behavior_names"] = new Dictionary<string, object>
            {
                { "hider", Contract.HiderBehavior + "?team=" + Contract.HiderTeamId },
                { "seeker", Contract.SeekerBehavior + "?team=" + Contract.SeekerTeamId },
            };
            root["action_branches"] = Contract.ActionBranches;
            root["action_branch_names"] = Contract.ActionBranchNames;
            root["no_move_bin"] = Contract.NoMoveBin;
            root["episode_stats"] = Contract.EpisodeStats;
            root["stats_prefix"] = Contract.StatsPrefix;
            root["global_state_channel_id"] = Contract.GlobalStateChannelId;
            root["global_state_request_key"] = Contract.GlobalStateRequestKey;
            root["sensor_names"] = Contract.SensorNames;
            root["sensor_names_sorted"] = SensorOrder.Sort(Contract.SensorNames.Reverse());
            root["env_keys"] = WorldParamFields.EnvironmentKeys();
            root["fields"] = WorldParamFields.All.Select(f => (object)new Dictionary<string, object>
            {
                { "key", f.Key }, { "kind", f.Kind.ToString().ToLowerInvariant() },
                { "ge", f.Ge }, { "le", f.Le }, { "gt", f.Gt }, { "lt", f.Lt },
            }).ToList();
            var scenarios = new Dictionary<string, object>();
            foreach (var name in WorldParams.Scenarios)
            {
                var w = WorldDefaults.For(name);
                scenarios[name] = new Dictionary<string, object>
                {
                    { "world", WorldDict(w) },
                    { "layout", LayoutDict(new ObsLayout(w)) },
                    { "prep_steps", w.PrepSteps },
                    { "max_walls", LayoutGenerator.MaxWalls(w) },
                    { "sample", Sample(w) },
                    { "layouts", Layouts(w) },
                    { "rewards", Rewards(w) },
                    { "movement", Movement(w) },
                };
            }
            root["scenarios"] = scenarios;
            root["door_blocking"] = DoorBlocking();
            var sb = new StringBuilder();
            Write(sb, root);
            return sb.ToString();
        }

        /// <summary>
        /// The scene's movement law on a free body, stepped as PhysX steps a Rigidbody (forces, then
        /// velocity), sampled after each of 12 decisions: the speed of an agent under full force along
        /// x and on the diagonal, its yaw rate under full torque, and a released box's speed from 7 m/s.
        /// </summary>
        static Dictionary<string, object> Movement(WorldParams w)
        {
            var h = w.PhysicsTimestep;
            var perDecision = (int)Math.Round(w.Dt / h);
            Func<Vec2, double, double, Vec2, List<object>> run = (force, mass, friction, v0) =>
            {
                var v = v0;
                var speeds = new List<object>();
                for (var d = 0; d < 12; d++)
                {
                    for (var k = 0; k < perDecision; k++)
                    {
                        var f = force + MovementLaw.Drag(v, mass, friction) + MovementLaw.FloorFriction(v, mass, w, h);
                        v = v + f * (h / mass);
                    }
                    speeds.Add(v.Length);
                }
                return speeds;
            };
            var spin = new List<object>();
            double omega = 0;
            for (var d = 0; d < 12; d++)
            {
                for (var k = 0; k < perDecision; k++) omega = MovementLaw.SpinRate(omega, w.MaxTorque, w, h);
                spin.Add(omega);
            }
            var zero = new Vec2(0, 0);
            return new Dictionary<string, object>
            {
                { "axis", run(new Vec2(w.MaxForce, 0), w.AgentMass, w.AgentFriction, zero) },
                { "diagonal", run(new Vec2(w.MaxForce, w.MaxForce), w.AgentMass, w.AgentFriction, zero) },
                { "spin", spin },
                { "box_release", run(zero, w.BoxMass, w.ObjectFriction, new Vec2(7, 0)) },
            };
        }

        /// <summary>
        /// EpisodeStats.DoorsBlocked on 300 random scenes of one door with up to three boxes near it
        /// (quadrant world with three boxes): the inputs and the counts, by either team and by the hiders.
        /// </summary>
        static List<object> DoorBlocking()
        {
            var w = WorldDefaults.QuadrantScenario();
            w.NBoxes = IntRange.Of(3);
            var tracker = new EpisodeStatsTracker(w);
            var rng = new Random(7);
            var cases = new List<object>();
            for (var k = 0; k < 300; k++)
            {
                var along = k % 2 == 0 ? new Vec2(0, 1) : new Vec2(1, 0);
                var normal = new Vec2(-along.Y, along.X);
                var centre = new Vec2(rng.NextDouble() * 2 - 1, rng.NextDouble() * 2 - 1);
                var s = new ArenaSnapshot(w);
                var boxes = new List<object>();
                for (var b = 0; b < 3; b++)
                {
                    var present = b == 0 || rng.NextDouble() < 0.6;
                    var pos = centre + along * (rng.NextDouble() * 1.4 - 0.7) + normal * (rng.NextDouble() * 1.2 - 0.6);
                    var yaw = rng.NextDouble() * Math.PI;
                    var length = rng.NextDouble() < 0.2 ? w.ElongatedBoxLength : w.BoxSize;
                    var locked = rng.Next(-1, 2);
                    s.Objects[b] = new ObjectSnapshot
                    {
                        Present = present, Pos = pos, Theta = yaw, SizeX = length, SizeY = w.BoxSize,
                        LockedTeam = present ? locked : -1, HeldBy = -1,
                    };
                    boxes.Add(new Dictionary<string, object>
                    {
                        { "present", present }, { "pos", new[] { pos.X, pos.Y } }, { "yaw", yaw },
                        { "size", new[] { length, w.BoxSize } }, { "locked_team", s.Objects[b].LockedTeam },
                    });
                }
                var doors = new[] { new Door(centre, along) };
                cases.Add(new Dictionary<string, object>
                {
                    { "door", new[] { centre.X, centre.Y } }, { "along", new[] { along.X, along.Y } },
                    { "boxes", boxes },
                    { "blocked", tracker.DoorsBlocked(s, doors, -1) },
                    { "blocked_by_hiders", tracker.DoorsBlocked(s, doors, Contract.HiderTeamId) },
                });
            }
            return cases;
        }

        static Dictionary<string, object> WorldDict(WorldParams w)
        {
            var d = new Dictionary<string, object>();
            foreach (var f in WorldParamFields.All)
            {
                var v = f.Get(w);
                switch (f.Kind)
                {
                    case ParamKind.Choice: d[f.Key] = WorldParams.Scenarios[(int)v[0]]; break;
                    case ParamKind.Range: d[f.Key] = new[] { (int)v[0], (int)v[1] }; break;
                    case ParamKind.Int: d[f.Key] = (int)v[0]; break;
                    default: d[f.Key] = v[0]; break;
                }
            }
            return d;
        }

        static Dictionary<string, object> LayoutDict(ObsLayout l)
        {
            return new Dictionary<string, object>
            {
                { "obs_shapes", l.ObsShapes },
                { "obs_columns", l.ObsColumns },
                { "action_branches", Contract.ActionBranches },
                { "state_size", l.StateSize },
                { "state_blocks", l.StateBlocks.Select(b => (object)new object[] { b.Name, b.Rows, b.Columns }).ToList() },
                { "state_agent_columns", l.StateAgentColumns },
                { "state_object_columns", Contract.StateObjectColumns },
                { "state_wall_columns", Contract.StateWallColumns },
                { "state_global_columns", Contract.StateGlobalColumns },
            };
        }

        /// <summary>A deterministic arena snapshot (seeded layout plus made-up motion, locks, holds and sightings) and its packing.</summary>
        static Dictionary<string, object> Sample(WorldParams w)
        {
            var layout = LayoutGenerator.Generate(w, 7, 2);
            var s = new ArenaSnapshot(w);
            s.SetWalls(layout.Walls);
            var rng = new Random(11);
            s.Step = Math.Max(w.PrepSteps - 3, 0);
            for (var a = 0; a < s.Agents.Length; a++)
            {
                var sp = layout.Agents[a];
                s.Agents[a].Present = sp.Present;
                s.Agents[a].Pos = sp.Pos;
                s.Agents[a].Theta = sp.Theta;
                s.Agents[a].Z = a == s.Agents.Length - 1 ? w.WallHeight : 0.0;
                s.Agents[a].Vel = new Vec2(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
                s.Agents[a].AngVel = rng.NextDouble() * 4 - 2;
            }
            for (var o = 0; o < s.Objects.Length; o++)
            {
                var isRamp = o >= w.MaxBoxes;
                var sp = isRamp ? layout.Ramps[o - w.MaxBoxes] : layout.Boxes[o];
                s.Objects[o].Present = sp.Present;
                s.Objects[o].Pos = sp.Pos;
                s.Objects[o].Theta = sp.Theta;
                s.Objects[o].Vel = new Vec2(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
                s.Objects[o].SizeX = isRamp ? w.RampLength : (sp.Elongated ? w.ElongatedBoxLength : w.BoxSize);
                s.Objects[o].SizeY = isRamp ? w.RampWidth : w.BoxSize;
                s.Objects[o].LockedTeam = o % 3 == 0 ? -1 : (o % 3 == 1 ? 0 : 1);
                s.Objects[o].HeldBy = o == 0 ? 1 : -1;
            }
            for (var v = 0; v < s.Agents.Length; v++)
            {
                for (var t = 0; t < s.Agents.Length; t++)
                    s.SeenAgents[v, t] = v != t && s.Agents[v].Present && s.Agents[t].Present && rng.NextDouble() < 0.6;
                for (var o = 0; o < s.Objects.Length; o++)
                    s.SeenObjects[v, o] = s.Agents[v].Present && s.Objects[o].Present && rng.NextDouble() < 0.6;
                for (var r = 0; r < w.LidarRays; r++)
                    s.Lidar[v, r] = rng.NextDouble() < 0.3 ? 1f : (float)rng.NextDouble();
            }
            var obs0 = new List<object>();
            var obs1 = new List<object>();
            var obs2 = new List<object>();
            var obs3 = new List<object>();
            var masks = new List<object>();
            for (var a = 0; a < s.Agents.Length; a++)
            {
                obs0.Add(ObsPacker.Self(s, a));
                obs1.Add(ObsPacker.AgentRows(s, a));
                obs2.Add(ObsPacker.ObjectRows(s, a, false));
                obs3.Add(ObsPacker.ObjectRows(s, a, true));
                masks.Add(ActionMapping.Mask(ActionMapping.IsFrozen(s.Agents[a].Team, s.Agents[a].Present, s.Phase)));
            }
            var state = ObsPacker.State(s);
            var payload = GlobalStatePayload.Encode(3, s.Step, state);
            return new Dictionary<string, object>
            {
                { "t", s.Step },
                { "agents", s.Agents.Select(a => (object)new Dictionary<string, object>
                    {
                        { "present", a.Present }, { "pos", new[] { a.Pos.X, a.Pos.Y } }, { "z", a.Z },
                        { "vel", new[] { a.Vel.X, a.Vel.Y } }, { "theta", a.Theta }, { "angvel", a.AngVel },
                    }).ToList() },
                { "objects", s.Objects.Select(o => (object)new Dictionary<string, object>
                    {
                        { "present", o.Present }, { "pos", new[] { o.Pos.X, o.Pos.Y } },
                        { "vel", new[] { o.Vel.X, o.Vel.Y } }, { "theta", o.Theta },
                        { "size", new[] { o.SizeX, o.SizeY } }, { "locked_team", o.LockedTeam }, { "held_by", o.HeldBy },
                    }).ToList() },
                { "walls", Walls(layout) },
                { "seen_agents", Matrix(s.SeenAgents) },
                { "seen_objects", Matrix(s.SeenObjects) },
                { "lidar", FloatMatrix(s.Lidar) },
                { "obs_0", obs0 }, { "obs_1", obs1 }, { "obs_2", obs2 }, { "obs_3", obs3 },
                { "action_mask", masks },
                { "state", state },
                { "payload_arena", 3 },
                { "payload_hex", BitConverter.ToString(payload).Replace("-", "").ToLowerInvariant() },
            };
        }

        /// <summary>Wall slots as [present, x1, y1, x2, y2] in metres.</summary>
        static List<object> Walls(ArenaLayout layout)
        {
            return layout.Walls.Select(wl => (object)new[] { wl.Present ? 1.0 : 0.0, wl.A.X, wl.A.Y, wl.B.X, wl.B.Y }).ToList();
        }

        static List<object> Spawns(Spawn[] spawns)
        {
            return spawns.Select(sp => (object)new Dictionary<string, object>
            {
                { "present", sp.Present }, { "pos", new[] { sp.Pos.X, sp.Pos.Y } }, { "theta", sp.Theta },
                { "elongated", sp.Elongated },
            }).ToList();
        }

        /// <summary>Layouts of a few (seed, episode) pairs, for comparison with the twin's layouts.generate.</summary>
        static List<object> Layouts(WorldParams w)
        {
            var result = new List<object>();
            foreach (var seed in new long[] { 0, 1, 7, 12345 })
                foreach (var episode in new long[] { 0, 1, 5 })
                {
                    var l = LayoutGenerator.Generate(w, seed, episode);
                    result.Add(new Dictionary<string, object>
                    {
                        { "seed", (int)seed }, { "episode", (int)episode }, { "walls", Walls(l) },
                        { "doors", l.Doors.Select(d => (object)new[] { d.Centre.X, d.Centre.Y }).ToList() },
                        { "agents", Spawns(l.Agents) }, { "boxes", Spawns(l.Boxes) }, { "ramps", Spawns(l.Ramps) },
                    });
                }
            return result;
        }

        /// <summary>
        /// The reward rule and its ML-Agents split on a few scenes: agents from a layout, one pushed out
        /// of bounds and one absent, sightings all or none, in and after the prep phase.
        /// </summary>
        static List<object> Rewards(WorldParams w)
        {
            var layout = LayoutGenerator.Generate(w, 3, 0);
            var n = w.MaxAgents;
            var rng = new Random(5);
            var cases = new List<object>();
            foreach (var inPrep in new[] { true, false })
                foreach (var sightings in new[] { 0.0, 0.5, 1.0 })
                {
                    var teams = new Team[n];
                    var present = new bool[n];
                    var outside = new bool[n];
                    var pos = new Vec2[n];
                    var inGroup = new bool[n];
                    var seen = new bool[n, n];
                    for (var a = 0; a < n; a++)
                    {
                        teams[a] = a < w.MaxHiders ? Team.Hider : Team.Seeker;
                        present[a] = layout.Agents[a].Present && a != n - 1;
                        pos[a] = a == 1 ? new Vec2(w.FloorSize / 2 + 0.2, 0.3) : layout.Agents[a].Pos;
                        outside[a] = RewardRule.OutOfBounds(pos[a], w.FloorSize);
                        inGroup[a] = true;
                    }
                    var anySeekerSeesHider = false;
                    for (var v = 0; v < n; v++)
                        for (var t = 0; t < n; t++)
                        {
                            seen[v, t] = present[v] && present[t] && v != t && rng.NextDouble() < sightings;
                            anySeekerSeesHider |= seen[v, t] && teams[v] == Team.Seeker && teams[t] == Team.Hider;
                        }
                    var total = RewardRule.Compute(anySeekerSeesHider, inPrep, teams, present, outside, w.OobPenalty);
                    var hiderGroup = RewardRule.GroupReward(Team.Hider, anySeekerSeesHider, inPrep);
                    var seekerGroup = RewardRule.GroupReward(Team.Seeker, anySeekerSeesHider, inPrep);
                    cases.Add(new Dictionary<string, object>
                    {
                        { "in_prep", inPrep }, { "present", present },
                        { "pos", pos.Select(p => (object)new[] { p.X, p.Y }).ToList() },
                        { "seen_agents", Matrix(seen) }, { "in_group", inGroup },
                        { "total", total }, { "hider_group", hiderGroup }, { "seeker_group", seekerGroup },
                        { "individual", RewardRule.IndividualParts(total, teams, inGroup, hiderGroup, seekerGroup) },
                    });
                }
            return cases;
        }

        static List<object> Matrix(bool[,] m)
        {
            var rows = new List<object>();
            for (var i = 0; i < m.GetLength(0); i++)
            {
                var row = new bool[m.GetLength(1)];
                for (var j = 0; j < row.Length; j++) row[j] = m[i, j];
                rows.Add(row);
            }
            return rows;
        }

        static List<object> FloatMatrix(float[,] m)
        {
            var rows = new List<object>();
            for (var i = 0; i < m.GetLength(0); i++)
            {
                var row = new float[m.GetLength(1)];
                for (var j = 0; j < row.Length; j++) row[j] = m[i, j];
                rows.Add(row);
            }
            return rows;
        }

        // ---------------------------------------------------------------- a minimal JSON writer
        static void Write(StringBuilder sb, object v)
        {
            if (v == null) { sb.Append("null"); return; }
            if (v is string) { WriteString(sb, (string)v); return; }
            if (v is bool) { sb.Append((bool)v ? "true" : "false"); return; }
            if (v is int) { sb.Append(((int)v).ToString(CultureInfo.InvariantCulture)); return; }
            if (v is double) { WriteNumber(sb, (double)v); return; }
            if (v is float) { WriteNumber(sb, (float)v); return; }
            var dict = v as Dictionary<string, object>;
            if (dict != null)
            {
                sb.Append('{');
                var first = true;
                foreach (var kv in dict)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    WriteString(sb, kv.Key);
                    sb.Append(": ");
                    Write(sb, kv.Value);
                }
                sb.Append('}');
                return;
            }
            var seq = v as System.Collections.IEnumerable;
            if (seq != null)
            {
                sb.Append('[');
                var first = true;
                foreach (var item in seq)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    Write(sb, item);
                }
                sb.Append(']');
                return;
            }
            throw new ArgumentException("cannot write " + v.GetType() + " as JSON");
        }

        static void WriteNumber(StringBuilder sb, double d)
        {
            if (double.IsNaN(d) || double.IsInfinity(d)) throw new ArgumentException("non-finite number in the contract dump");
            sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (var c in s)
            {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < ' ') sb.Append("\\u").Append(((int)c).ToString("x4"));
                else sb.Append(c);
            }
            sb.Append('"');
        }
    }
}
