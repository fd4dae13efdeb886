using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>
    /// The fixed agreements with the Python side (WORLD.md, PROTOCOL.md and <c>hideseek.contract</c>):
    /// names, ids and column orders. The parity test compares these with the Python module.
    /// </summary>
    public static class Contract
    {
        public const string HiderBehavior = "Hider";
        public const string SeekerBehavior = "Seeker";
        public const int HiderTeamId = 0;
        public const int SeekerTeamId = 1;

        /// <summary>Discrete branches: force x, force y, torque, grab, lock.</summary>
        public static readonly int[] ActionBranches = { 11, 11, 11, 2, 2 };
        public static readonly string[] ActionBranchNames = { "force_x", "force_y", "torque", "grab", "lock" };
        public const int NoMoveBin = 5;

        /// <summary>Channel id of the Unity -> Python global critic state side channel.</summary>
        public const string GlobalStateChannelId = "3f5d2a64-1c2e-4e44-9a57-7b0d6c1e9a21";

        /// <summary>
        /// EnvironmentParameters key with which the Python adapter asks for the global-state
        /// messages (value 1.0); while it is absent or not above 0.5 none are sent, so trainers that
        /// do not register the channel (mlagents-learn) never see unknown side-channel data.
        /// Python: <c>hideseek.envs.side_channels.GLOBAL_STATE_REQUEST_KEY</c>.
        /// </summary>
        public const string GlobalStateRequestKey = "hideseek_global_state";

        /// <summary>Prefix of the episode statistics on the ML-Agents Stats side channel.</summary>
        public const string StatsPrefix = "HideSeek/";

        public static readonly string[] SelfBaseColumns =
        {
            "x", "y", "z", "vx", "vy", "sin_theta", "cos_theta", "angular_velocity",
            "is_hider", "prep_left", "episode_left",
        };

        public static readonly string[] AgentColumns =
        {
            "present", "dx", "dy", "dz", "vx", "vy", "sin_theta", "cos_theta", "is_teammate", "is_hider",
        };

        public static readonly string[] ObjectColumns =
        {
            "present", "dx", "dy", "dz", "vx", "vy", "sin_theta", "cos_theta", "size_x", "size_y",
            "locked_by_my_team", "locked_by_other_team", "held_by_me", "held_by_other",
        };

        /// <summary>First column of an agent's critic-state row; its full obs_0 self vector follows (<see cref="ObsLayout.StateAgentColumns"/>).</summary>
        public const string StateAgentPresentColumn = "present";

        public static readonly string[] StateObjectColumns =
        {
            "present", "x", "y", "z", "vx", "vy", "sin_theta", "cos_theta", "size_x", "size_y",
            "locked_by_hiders", "locked_by_seekers", "held_by_hider", "held_by_seeker",
        };

        /// <summary>A wall slot: present, then its centre line's end points over floor_size (all zero when absent).</summary>
        public static readonly string[] StateWallColumns = { "present", "x1", "y1", "x2", "y2" };

        public static readonly string[] StateGlobalColumns = { "prep_left", "episode_left" };

        /// <summary><c>hideseek.contract.EPISODE_STATS</c>, in order.</summary>
        public static readonly string[] EpisodeStats =
        {
            "hider_return",
            "hidden_fraction",
            "max_box_displacement_prep",
            "max_box_displacement",
            "max_ramp_displacement_prep",
            "max_ramp_displacement",
            "boxes_locked_prep_by_hiders",
            "boxes_locked_prep_by_seekers",
            "ramps_locked_prep_by_hiders",
            "ramps_locked_prep_by_seekers",
            "boxes_locked_end_by_hiders",
            "boxes_locked_end_by_seekers",
            "ramps_locked_end_by_hiders",
            "ramps_locked_end_by_seekers",
            "doors_blocked_prep",
            "room_sealed_prep",
            "seeker_on_top_steps",
            "grabs_per_hider",
            "grabs_per_seeker",
        };

        /// <summary>
        /// Names of the four sensors of an agent. ML-Agents sorts an agent's sensors by name
        /// (<c>SensorUtils.SortSensors</c>, culture-invariant compare) before it numbers them
        /// <c>obs_0..obs_3</c>; these names sort into exactly the contract order
        /// (checked by <see cref="SensorOrder"/> in the tests).
        /// </summary>
        public static readonly string[] SensorNames = { "obs_0_self", "obs_1_agents", "obs_2_boxes", "obs_3_ramps" };
    }

    /// <summary>Team of an agent slot.</summary>
    public enum Team
    {
        Hider = 0,
        Seeker = 1,
    }

    /// <summary>Shapes and column names of obs_0..obs_3 and the critic state for one world.</summary>
    public sealed class ObsLayout
    {
        public readonly WorldParams World;

        public ObsLayout(WorldParams world)
        {
            World = world;
        }

        public int MaxAgents { get { return World.MaxAgents; } }
        public int MaxHiders { get { return World.MaxHiders; } }
        public int MaxSeekers { get { return World.MaxSeekers; } }
        public int MaxBoxes { get { return World.MaxBoxes; } }
        public int MaxRamps { get { return World.MaxRamps; } }

        /// <summary>Buffers keep at least one row so that no tensor dimension is empty.</summary>
        public int AgentRows { get { return Math.Max(MaxAgents - 1, 1); } }
        public int BoxRows { get { return Math.Max(MaxBoxes, 1); } }
        public int RampRows { get { return Math.Max(MaxRamps, 1); } }

        public string[] SelfColumns
        {
            get
            {
                var cols = new List<string>(Contract.SelfBaseColumns);
                for (var i = 0; i < World.LidarRays; i++) cols.Add("lidar_" + i);
                return cols.ToArray();
            }
        }

        public int SelfSize { get { return Contract.SelfBaseColumns.Length + World.LidarRays; } }

        /// <summary>Critic-state columns of an agent row: present, then the agent's whole obs_0 (lidar included).</summary>
        public string[] StateAgentColumns
        {
            get
            {
                var cols = new List<string> { Contract.StateAgentPresentColumn };
                cols.AddRange(SelfColumns);
                return cols.ToArray();
            }
        }

        public int MaxWalls { get { return LayoutGenerator.MaxWalls(World); } }

        public int[][] ObsShapes
        {
            get
            {
                return new[]
                {
                    new[] { SelfSize },
                    new[] { AgentRows, Contract.AgentColumns.Length },
                    new[] { BoxRows, Contract.ObjectColumns.Length },
                    new[] { RampRows, Contract.ObjectColumns.Length },
                };
            }
        }

        public string[][] ObsColumns
        {
            get { return new[] { SelfColumns, Contract.AgentColumns, Contract.ObjectColumns, Contract.ObjectColumns }; }
        }

        public int ActionMaskSize
        {
            get
            {
                var n = 0;
                foreach (var b in Contract.ActionBranches) n += b;
                return n;
            }
        }

        public struct Block
        {
            public string Name;
            public int Rows;
            public int Columns;
        }

        /// <summary>(name, rows, columns) of each block of the flat critic state, in order (WORLD.md "Centralized critic input").</summary>
        public Block[] StateBlocks
        {
            get
            {
                return new[]
                {
                    new Block { Name = "agents", Rows = MaxAgents, Columns = 1 + SelfSize },
                    new Block { Name = "boxes", Rows = MaxBoxes, Columns = Contract.StateObjectColumns.Length },
                    new Block { Name = "ramps", Rows = MaxRamps, Columns = Contract.StateObjectColumns.Length },
                    new Block { Name = "walls", Rows = MaxWalls, Columns = Contract.StateWallColumns.Length },
                    new Block { Name = "globals", Rows = 1, Columns = Contract.StateGlobalColumns.Length },
                };
            }
        }

        public int StateSize
        {
            get
            {
                var n = 0;
                foreach (var b in StateBlocks) n += b.Rows * b.Columns;
                return n;
            }
        }

        /// <summary>Team of agent slot <paramref name="slot"/>: hiders first, then seekers.</summary>
        public Team TeamOf(int slot)
        {
            return slot < MaxHiders ? Team.Hider : Team.Seeker;
        }

        /// <summary>PettingZoo-style name of a slot: hider_0.., seeker_0...</summary>
        public string AgentName(int slot)
        {
            return slot < MaxHiders ? "hider_" + slot : "seeker_" + (slot - MaxHiders);
        }
    }

    /// <summary>Reproduces how ML-Agents orders an agent's sensors, so tests can check the names.</summary>
    public static class SensorOrder
    {
        /// <summary>Sorted copy of <paramref name="names"/>, compared as ML-Agents' <c>SensorUtils.SortSensors</c> does.</summary>
        public static string[] Sort(IEnumerable<string> names)
        {
            var list = new List<string>(names);
            list.Sort((a, b) => string.Compare(a, b, StringComparison.InvariantCulture));
            return list.ToArray();
        }
    }
}
