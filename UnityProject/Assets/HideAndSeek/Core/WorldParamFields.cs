using System;
using System.Collections.Generic;
using System.Globalization;

namespace HideAndSeek.Core
{
    public enum ParamKind
    {
        Float,
        Int,
        Range,
        Choice,
    }

    /// <summary>
    /// One field of <see cref="WorldParams"/> under its contract key (the <c>WorldConfig</c> field
    /// name), with the same bounds as the Python field spec. This one table drives the
    /// EnvironmentParameters keys, validation and the contract dump the parity test compares.
    /// </summary>
    public sealed class ParamField
    {
        public readonly string Key;
        public readonly ParamKind Kind;
        public readonly double? Ge;
        public readonly double? Le;
        public readonly double? Gt;
        public readonly double? Lt;
        readonly Func<WorldParams, double[]> m_Get;
        readonly Action<WorldParams, double[]> m_Set;

        public ParamField(string key, ParamKind kind, Func<WorldParams, double[]> get, Action<WorldParams, double[]> set,
            double? ge = null, double? le = null, double? gt = null, double? lt = null)
        {
            Key = key;
            Kind = kind;
            m_Get = get;
            m_Set = set;
            Ge = ge;
            Le = le;
            Gt = gt;
            Lt = lt;
        }

        /// <summary>The value as numbers: one for Float/Int, [min, max] for Range, the scenario index for Choice.</summary>
        public double[] Get(WorldParams p)
        {
            return m_Get(p);
        }

        public void Set(WorldParams p, double[] value)
        {
            m_Set(p, value);
        }

        /// <summary>EnvironmentParameters keys of this field: the key itself, or key_min and key_max for a range.</summary>
        public string[] EnvKeys
        {
            get { return Kind == ParamKind.Range ? new[] { Key + "_min", Key + "_max" } : new[] { Key }; }
        }

        internal void CheckBounds(WorldParams p, string source)
        {
            if (Kind == ParamKind.Choice) return;
            var values = Get(p);
            foreach (var v in values)
            {
                if (double.IsNaN(v) || double.IsInfinity(v))
                    throw new WorldParamsException(source, Key, v, "a finite number");
                if ((Ge.HasValue && v < Ge.Value) || (Le.HasValue && v > Le.Value) ||
                    (Gt.HasValue && v <= Gt.Value) || (Lt.HasValue && v >= Lt.Value))
                    throw new WorldParamsException(source, Key, v, "a value " + BoundsText());
            }
            if (Kind == ParamKind.Range && values[0] > values[1])
                throw new WorldParamsException(source, Key, "[" + values[0] + ", " + values[1] + "]", "min <= max");
        }

        public string BoundsText()
        {
            var parts = new List<string>();
            if (Gt.HasValue) parts.Add("> " + Gt.Value.ToString(CultureInfo.InvariantCulture));
            if (Ge.HasValue) parts.Add(">= " + Ge.Value.ToString(CultureInfo.InvariantCulture));
            if (Lt.HasValue) parts.Add("< " + Lt.Value.ToString(CultureInfo.InvariantCulture));
            if (Le.HasValue) parts.Add("<= " + Le.Value.ToString(CultureInfo.InvariantCulture));
            return string.Join(" and ", parts.ToArray());
        }
    }

    public static class WorldParamFields
    {
        /// <summary>Extra EnvironmentParameters key: arenas built at start-up.</summary>
        public const string NumArenasKey = "num_arenas";

        static ParamField F(string key, Func<WorldParams, double> get, Action<WorldParams, double> set,
            double? ge = null, double? le = null, double? gt = null, double? lt = null)
        {
            return new ParamField(key, ParamKind.Float, p => new[] { get(p) }, (p, v) => set(p, v[0]), ge, le, gt, lt);
        }

        static ParamField I(string key, Func<WorldParams, int> get, Action<WorldParams, int> set,
            double? ge = null, double? le = null)
        {
            return new ParamField(key, ParamKind.Int, p => new double[] { get(p) }, (p, v) => set(p, ToInt(key, v[0])), ge, le);
        }

        static ParamField R(string key, Func<WorldParams, IntRange> get, Action<WorldParams, IntRange> set,
            double? ge = null, double? le = null)
        {
            return new ParamField(key, ParamKind.Range,
                p => new double[] { get(p).Min, get(p).Max },
                (p, v) => set(p, new IntRange(ToInt(key, v[0]), ToInt(key, v[1]))), ge, le);
        }

        static int ToInt(string key, double v)
        {
            var r = Math.Round(v);
            if (Math.Abs(r - v) > 1e-4)
                throw new WorldParamsException("EnvironmentParameters", key, v, "an integer");
            return (int)r;
        }

        /// <summary>Every field in <c>WorldConfig</c> declaration order.</summary>
        public static readonly ParamField[] All =
        {
            new ParamField("scenario", ParamKind.Choice,
                p => new double[] { Array.IndexOf(WorldParams.Scenarios, p.Scenario) },
                (p, v) =>
                {
                    var i = ToInt("scenario", v[0]);
                    if (i < 0 || i >= WorldParams.Scenarios.Length)
                        throw new WorldParamsException("EnvironmentParameters", "scenario", v[0],
                            "0 (quadrant) or 1 (random_rooms)");
                    p.Scenario = WorldParams.Scenarios[i];
                }),
            F("floor_size", p => p.FloorSize, (p, v) => p.FloorSize = v, ge: 2.0, le: 50.0),
            F("wall_height", p => p.WallHeight, (p, v) => p.WallHeight = v, gt: 0.0),
            F("wall_thickness", p => p.WallThickness, (p, v) => p.WallThickness = v, gt: 0.0, le: 0.5),
            F("door_width", p => p.DoorWidth, (p, v) => p.DoorWidth = v, gt: 0.0),
            F("room_size", p => p.RoomSize, (p, v) => p.RoomSize = v, gt: 0.0),
            F("door_removal_prob", p => p.DoorRemovalProb, (p, v) => p.DoorRemovalProb = v, ge: 0.0, le: 1.0),
            R("n_rooms", p => p.NRooms, (p, v) => p.NRooms = v, ge: 1, le: 4),
            R("n_hiders", p => p.NHiders, (p, v) => p.NHiders = v, ge: 1, le: 8),
            R("n_seekers", p => p.NSeekers, (p, v) => p.NSeekers = v, ge: 1, le: 8),
            R("n_boxes", p => p.NBoxes, (p, v) => p.NBoxes = v, ge: 0, le: 16),
            R("n_elongated_boxes", p => p.NElongatedBoxes, (p, v) => p.NElongatedBoxes = v, ge: 0, le: 16),
            R("n_ramps", p => p.NRamps, (p, v) => p.NRamps = v, ge: 0, le: 8),
            F("team_spawn_radius", p => p.TeamSpawnRadius, (p, v) => p.TeamSpawnRadius = v, gt: 0.0),
            I("horizon", p => p.Horizon, (p, v) => p.Horizon = v, ge: 2, le: 100000),
            F("prep_fraction", p => p.PrepFraction, (p, v) => p.PrepFraction = v, ge: 0.0, lt: 1.0),
            F("dt", p => p.Dt, (p, v) => p.Dt = v, gt: 0.0, le: 1.0),
            F("agent_radius", p => p.AgentRadius, (p, v) => p.AgentRadius = v, gt: 0.0),
            F("agent_mass", p => p.AgentMass, (p, v) => p.AgentMass = v, gt: 0.0),
            F("agent_inertia", p => p.AgentInertia, (p, v) => p.AgentInertia = v, gt: 0.0),
            F("box_size", p => p.BoxSize, (p, v) => p.BoxSize = v, gt: 0.0),
            F("elongated_box_length", p => p.ElongatedBoxLength, (p, v) => p.ElongatedBoxLength = v, gt: 0.0),
            F("box_mass", p => p.BoxMass, (p, v) => p.BoxMass = v, gt: 0.0),
            F("ramp_width", p => p.RampWidth, (p, v) => p.RampWidth = v, gt: 0.0),
            F("ramp_length", p => p.RampLength, (p, v) => p.RampLength = v, gt: 0.0),
            F("ramp_height", p => p.RampHeight, (p, v) => p.RampHeight = v, gt: 0.0),
            F("ramp_mass", p => p.RampMass, (p, v) => p.RampMass = v, gt: 0.0),
            F("max_force", p => p.MaxForce, (p, v) => p.MaxForce = v, gt: 0.0),
            F("max_torque", p => p.MaxTorque, (p, v) => p.MaxTorque = v, gt: 0.0),
            F("agent_friction", p => p.AgentFriction, (p, v) => p.AgentFriction = v, ge: 0.0),
            F("agent_angular_friction", p => p.AgentAngularFriction, (p, v) => p.AgentAngularFriction = v, ge: 0.0),
            F("object_friction", p => p.ObjectFriction, (p, v) => p.ObjectFriction = v, ge: 0.0),
            F("floor_friction", p => p.FloorFriction, (p, v) => p.FloorFriction = v, ge: 0.0, le: 2.0),
            F("gravity", p => p.Gravity, (p, v) => p.Gravity = v, gt: 0.0, le: 100.0),
            I("physics_substeps", p => p.PhysicsSubsteps, (p, v) => p.PhysicsSubsteps = v, ge: 1, le: 16),
            I("physics_iterations", p => p.PhysicsIterations, (p, v) => p.PhysicsIterations = v, ge: 1, le: 20),
            F("physics_timestep", p => p.PhysicsTimestep, (p, v) => p.PhysicsTimestep = v, gt: 0.0, le: 1.0),
            I("solver_position_iterations", p => p.SolverPositionIterations, (p, v) => p.SolverPositionIterations = v, ge: 1, le: 255),
            I("solver_velocity_iterations", p => p.SolverVelocityIterations, (p, v) => p.SolverVelocityIterations = v, ge: 1, le: 255),
            F("contact_offset", p => p.ContactOffset, (p, v) => p.ContactOffset = v, gt: 0.0, le: 1.0),
            F("grab_distance", p => p.GrabDistance, (p, v) => p.GrabDistance = v, ge: 0.0),
            F("lock_distance", p => p.LockDistance, (p, v) => p.LockDistance = v, ge: 0.0),
            F("vision_cone_deg", p => p.VisionConeDeg, (p, v) => p.VisionConeDeg = v, gt: 0.0, le: 360.0),
            I("lidar_rays", p => p.LidarRays, (p, v) => p.LidarRays = v, ge: 0, le: 256),
            F("lidar_range", p => p.LidarRange, (p, v) => p.LidarRange = v, gt: 0.0),
            F("oob_penalty", p => p.OobPenalty, (p, v) => p.OobPenalty = v, ge: 0.0),
        };

        /// <summary>Fields that shape tensors or the scene; Unity reads them once, at start-up.</summary>
        public static readonly string[] StartupOnlyKeys =
        {
            "n_hiders", "n_seekers", "n_boxes", "n_ramps", "lidar_rays", "scenario",
            // PhysX settings apply to bodies and colliders when they are created.
            "physics_timestep", "solver_position_iterations", "solver_velocity_iterations", "contact_offset",
        };

        public static ParamField Find(string key)
        {
            foreach (var f in All)
                if (f.Key == key) return f;
            return null;
        }

        /// <summary>Every EnvironmentParameters key Unity reads, in table order, then <c>num_arenas</c>.</summary>
        public static List<string> EnvironmentKeys()
        {
            var keys = new List<string>();
            foreach (var f in All) keys.AddRange(f.EnvKeys);
            keys.Add(NumArenasKey);
            return keys;
        }

        /// <summary>
        /// A copy of <paramref name="defaults"/> with every key that <paramref name="get"/> knows
        /// replaced (the signature of ML-Agents' <c>EnvironmentParameters.GetWithDefault</c>), validated.
        /// Fields in <paramref name="frozen"/> keep their default (start-up only fields after start-up).
        /// </summary>
        public static WorldParams Read(WorldParams defaults, Func<string, float, float> get, ICollection<string> frozen = null)
        {
            var p = defaults.Clone();
            foreach (var f in All)
            {
                if (frozen != null && frozen.Contains(f.Key)) continue;
                var current = f.Get(defaults);
                var keys = f.EnvKeys;
                var value = new double[current.Length];
                for (var i = 0; i < keys.Length; i++)
                    value[i] = get(keys[i], (float)current[i]);
                // Floats travel as float32: keep the exact double default when the value did not change.
                for (var i = 0; i < value.Length; i++)
                    if ((float)current[i] == (float)value[i]) value[i] = current[i];
                f.Set(p, value);
            }
            p.Check("EnvironmentParameters");
            return p;
        }
    }
}
