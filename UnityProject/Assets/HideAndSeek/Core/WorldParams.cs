using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>An inclusive integer range [Min, Max]; entity counts are sampled in it per episode.</summary>
    public struct IntRange
    {
        public int Min;
        public int Max;

        public IntRange(int min, int max)
        {
            Min = min;
            Max = max;
        }

        public static IntRange Of(int value)
        {
            return new IntRange(value, value);
        }
    }

    /// <summary>
    /// Every number of the world (WORLD.md), field for field the Python <c>hideseek.contract.WorldConfig</c>.
    /// The defaults here are the quadrant scenario; <see cref="WorldDefaults"/> holds each scenario's
    /// values as compiled-in copies of <c>configs/arenas/*.yaml</c> (the parity test keeps them equal).
    /// </summary>
    public sealed class WorldParams
    {
        public const string Quadrant = "quadrant";
        public const string RandomRooms = "random_rooms";
        public static readonly string[] Scenarios = { Quadrant, RandomRooms };

        public string Scenario = Quadrant;
        public double FloorSize = 6.0;
        public double WallHeight = 0.5;
        public double WallThickness = 0.1;
        public double DoorWidth = 0.4;
        public double RoomSize = 3.0;
        public double DoorRemovalProb = 0.5;
        public IntRange NRooms = new IntRange(1, 4);
        public IntRange NHiders = IntRange.Of(2);
        public IntRange NSeekers = IntRange.Of(2);
        public IntRange NBoxes = IntRange.Of(2);
        public IntRange NElongatedBoxes = IntRange.Of(0);
        public IntRange NRamps = IntRange.Of(1);
        public double TeamSpawnRadius = 1.2;
        public int Horizon = 80;
        public double PrepFraction = 0.4;
        public double Dt = 0.075;
        public double AgentRadius = 0.15;
        public double AgentMass = 1.0;
        public double AgentInertia = 0.01;
        public double BoxSize = 0.5;
        public double ElongatedBoxLength = 1.5;
        public double BoxMass = 1.0;
        public double RampWidth = 0.5;
        public double RampLength = 1.0;
        public double RampHeight = 0.5;
        public double RampMass = 2.0;
        public double MaxForce = 90.0;
        public double MaxTorque = 90.0;
        public double AgentFriction = 10.0;
        public double AgentAngularFriction = 10.0;
        public double ObjectFriction = 0.0;
        public double FloorFriction = 0.2;
        public double Gravity = 50.0;
        public int PhysicsSubsteps = 2;
        public int PhysicsIterations = 2;
        public double PhysicsTimestep = 0.015;
        public int SolverPositionIterations = 6;
        public int SolverVelocityIterations = 1;
        public double ContactOffset = 0.01;
        public double GrabDistance = 0.25;
        public double LockDistance = 0.25;
        public double VisionConeDeg = 135.0;
        public int LidarRays = 30;
        public double LidarRange = 6.0;
        public double OobPenalty = 10.0;

        public WorldParams Clone()
        {
            return (WorldParams)MemberwiseClone();
        }

        /// <summary>Steps of the preparation phase: floor(horizon * prep_fraction), as in the twin.</summary>
        public int PrepSteps
        {
            get { return (int)Math.Floor(Horizon * PrepFraction); }
        }

        public int MaxHiders { get { return NHiders.Max; } }
        public int MaxSeekers { get { return NSeekers.Max; } }
        public int MaxAgents { get { return NHiders.Max + NSeekers.Max; } }
        public int MaxBoxes { get { return NBoxes.Max; } }
        public int MaxRamps { get { return NRamps.Max; } }

        /// <summary>Top angular speed (rad/s) the angular-velocity observation is divided by.</summary>
        public double AngularSpeedScale
        {
            get { return AgentAngularFriction > 0 ? MaxTorque / AgentAngularFriction : MaxTorque; }
        }

        /// <summary>
        /// Cross-field rules of <c>WorldConfig.check</c>; throws <see cref="WorldParamsException"/>
        /// naming the field, the value and what was expected.
        /// </summary>
        public void Check(string source)
        {
            if (Array.IndexOf(Scenarios, Scenario) < 0)
                throw new WorldParamsException(source, "scenario", Scenario, "one of quadrant, random_rooms");
            foreach (var f in WorldParamFields.All)
                f.CheckBounds(this, source);
            if (NElongatedBoxes.Max > NBoxes.Max)
                throw new WorldParamsException(source, "n_elongated_boxes", NElongatedBoxes.Max,
                    "max <= n_boxes max (" + NBoxes.Max + ")");
            if (Scenario == Quadrant)
            {
                if (RoomSize >= FloorSize - 4 * WallThickness)
                    throw new WorldParamsException(source, "room_size", RoomSize,
                        "a room smaller than the floor (" + FloorSize + ")");
                if (DoorWidth >= RoomSize - 2 * WallThickness)
                    throw new WorldParamsException(source, "door_width", DoorWidth,
                        "a door narrower than the room (" + RoomSize + ")");
            }
            if (DoorWidth <= 2 * AgentRadius)
                throw new WorldParamsException(source, "door_width", DoorWidth,
                    "a door wider than an agent (> " + (2 * AgentRadius) + ")");
            if (RampHeight < WallHeight || BoxSize < WallHeight)
                throw new WorldParamsException(source, "ramp_height", RampHeight,
                    "ramps and boxes at least as tall as walls (" + WallHeight + ")");
            if (MaxForce <= FloorFriction * Gravity * AgentMass)
                throw new WorldParamsException(source, "max_force", MaxForce,
                    "more than the floor friction on an agent (floor_friction * gravity * agent_mass = "
                    + (FloorFriction * Gravity * AgentMass) + ")");
            // Within float32 rounding: EnvironmentParameters arrive as float32.
            var steps = Math.Round(Dt / PhysicsTimestep);
            if (steps < 1 || Math.Abs(steps * PhysicsTimestep - Dt) > 1e-6 * Dt)
                throw new WorldParamsException(source, "physics_timestep", PhysicsTimestep,
                    "a whole fraction of dt (" + Dt + "): whole physics steps per step");
            if (Horizon * PrepFraction < 1 && PrepFraction > 0)
                throw new WorldParamsException(source, "prep_fraction", PrepFraction,
                    "0 or at least one preparation step for this horizon");
        }
    }

    /// <summary>A world parameter is malformed; the message names source, key, value and the rule.</summary>
    public sealed class WorldParamsException : Exception
    {
        public readonly string Key;

        public WorldParamsException(string source, string key, object value, string expected)
            : base(source + ": " + key + " = " + Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)
                   + ": expected " + expected)
        {
            Key = key;
        }
    }

    /// <summary>The compiled-in scenarios: copies of <c>configs/arenas/quadrant.yaml</c> and <c>random_rooms.yaml</c>.</summary>
    public static class WorldDefaults
    {
        public static WorldParams For(string scenario)
        {
            if (scenario == WorldParams.Quadrant) return QuadrantScenario();
            if (scenario == WorldParams.RandomRooms) return RandomRoomsScenario();
            throw new WorldParamsException("WorldDefaults", "scenario", scenario, "one of quadrant, random_rooms");
        }

        public static WorldParams QuadrantScenario()
        {
            // Every field of the quadrant YAML; fields it leaves out keep the WorldConfig defaults.
            return new WorldParams();
        }

        public static WorldParams RandomRoomsScenario()
        {
            var p = new WorldParams();
            p.Scenario = WorldParams.RandomRooms;
            p.NRooms = new IntRange(1, 4);
            p.TeamSpawnRadius = 1.2;
            p.NBoxes = new IntRange(3, 9);
            p.NElongatedBoxes = new IntRange(1, 3);
            p.NRamps = IntRange.Of(2);
            p.Horizon = 240;
            return p;
        }

        public static IList<string> ScenarioNames
        {
            get { return WorldParams.Scenarios; }
        }
    }
}
