using System;
using System.Collections.Generic;
using HideAndSeek.Core;
using Unity.MLAgents;
using Unity.MLAgents.Policies;
using UnityEngine;
#if HIDESEEK_MLAGENTS_3
using PolicyModel = Unity.Sentis.ModelAsset;
#else
using PolicyModel = Unity.Barracuda.NNModel;
#endif

namespace HideAndSeek
{
    /// <summary>
    /// The scene's entry point: reads the world from the EnvironmentParameters side channel (keys =
    /// <c>WorldConfig</c> field names, ranges as <c>_min</c>/<c>_max</c>, plus <c>num_arenas</c>) with
    /// the compiled-in defaults of <see cref="WorldDefaults"/>, builds that many arenas side by side,
    /// and drives their decision loop from the Academy's pre-step event.
    /// </summary>
    [DefaultExecutionOrder(-100)]
    [DisallowMultipleComponent]
    public class ArenaBuilder : MonoBehaviour
    {
        public enum Scenario
        {
            Quadrant,
            RandomRooms,
        }

        [Tooltip("Compiled-in defaults to start from (configs/arenas/<scenario>.yaml); the 'scenario' environment parameter overrides it.")]
        [SerializeField] private Scenario m_DefaultScenario = Scenario.Quadrant;
        [Tooltip("Arenas when no trainer sends num_arenas.")]
        [SerializeField] private int m_NumArenas = 1;
        [Tooltip("Free space between neighbouring arenas (m).")]
        [SerializeField] private float m_ArenaGap = 2f;
        [Tooltip("Layout seed: arena k plays the episodes of seed + k, as arena k of the twin's batch. A trainer's 'seed' parameter replaces it.")]
        [SerializeField] private int m_Seed = 0;
        [Tooltip("Default: trainer if connected, else the models, else Heuristic(). InferenceOnly for playback.")]
        [SerializeField] private BehaviorType m_BehaviorType = BehaviorType.Default;
        [SerializeField] private PolicyModel m_HiderModel;
        [SerializeField] private PolicyModel m_SeekerModel;
        [Tooltip("Agent slot of arena 0 driven by the keyboard in Heuristic mode (-1: none).")]
        [SerializeField] private int m_HumanSlot = 0;

        public Scenario DefaultScenario { get { return m_DefaultScenario; } set { m_DefaultScenario = value; } }
        public int NumArenas { get { return m_NumArenas; } set { m_NumArenas = value; } }
        public float ArenaGap { get { return m_ArenaGap; } set { m_ArenaGap = value; } }
        /// <summary>The layout seed in use (the inspector's, until a trainer sends <see cref="SeedKey"/>).</summary>
        public int Seed { get { return m_Seed; } private set { m_Seed = value; } }
        public BehaviorType BehaviorType { get { return m_BehaviorType; } set { m_BehaviorType = value; } }
        public PolicyModel HiderModel { get { return m_HiderModel; } set { m_HiderModel = value; } }
        public PolicyModel SeekerModel { get { return m_SeekerModel; } set { m_SeekerModel = value; } }
        public int HumanSlot { get { return m_HumanSlot; } set { m_HumanSlot = value; } }

        /// <summary>EnvironmentParameters key of the layout seed (not a WorldConfig field).</summary>
        public const string SeedKey = "seed";

        public WorldParams World { get; private set; }
        public GlobalStateChannel StateChannel { get; private set; }
        public int DecisionPeriod { get; private set; }
        public IList<HideSeekArena> Arenas { get { return m_Arenas; } }

        readonly List<HideSeekArena> m_Arenas = new List<HideSeekArena>();
        HashSet<string> m_Frozen;

        void Awake()
        {
            // Touching the Academy connects to a trainer if one launched us (--mlagents-port), and
            // processes the side-channel data that came with its first reset, so the parameters are here.
            var academy = Academy.Instance;
            StateChannel = GlobalStateChannel.Shared.Acquire();

            World = ReadWorld(startup: true);
            Seed = ReadSeed(Seed);
            m_Frozen = new HashSet<string>(WorldParamFields.StartupOnlyKeys);
            ApplyPhysicsSettings(World);
            var n = Mathf.RoundToInt(academy.EnvironmentParameters.GetWithDefault(WorldParamFields.NumArenasKey, NumArenas));
            if (n < 1)
                throw new ArgumentException("EnvironmentParameters: num_arenas = " + n + ": expected at least 1");
            DecisionPeriod = StepTiming.DecisionPeriod(World.Dt, Time.fixedDeltaTime);
            if (Math.Abs(StepTiming.DecisionSeconds(World.Dt, Time.fixedDeltaTime) - World.Dt) > 1e-6)
                Debug.LogWarning("ArenaBuilder: dt = " + World.Dt + " s is no multiple of the fixed timestep " +
                                 Time.fixedDeltaTime + " s; one decision spans " + DecisionPeriod + " physics steps.");

            var policy = new PolicySettings
            {
                BehaviorType = BehaviorType, HiderModel = HiderModel, SeekerModel = SeekerModel, DecisionPeriod = DecisionPeriod,
            };
            var pitch = (float)(World.FloorSize + 2 * World.WallThickness) + ArenaGap;
            var perRow = Mathf.CeilToInt(Mathf.Sqrt(n));
            for (var i = 0; i < n; i++)
            {
                var root = new GameObject("Arena_" + i);
                root.transform.SetParent(transform, false);
                root.transform.localPosition = new Vector3((i % perRow) * pitch, 0f, (i / perRow) * pitch);
                var arena = root.AddComponent<HideSeekArena>();
                arena.Build(this, i, World, policy);
                m_Arenas.Add(arena);
            }
            // The arenas' step handler must run before any DecisionRequester's: an episode that ends
            // at this step has to end (and the arena reset) before the new decision is requested.
            academy.AgentPreStep += OnAcademyPreStep;
            academy.OnEnvironmentReset += OnEnvironmentReset;
            // Creation order fixes the agents' ML-Agents ids: arena 0's agents first, hiders then seekers.
            foreach (var arena in m_Arenas) arena.ActivateAgents();
            // Episode 0 of every arena, laid out now so that the scene is complete before the first
            // step; the Academy's first reset lays it out again with the trainer's parameters.
            foreach (var arena in m_Arenas) arena.StartUp(World);
        }

        /// <summary>
        /// The PhysX settings of the contract (docs/physx.md): the fixed timestep, gravity, the
        /// solver's iterations and the contact offset. Unity applies the iterations and the offset
        /// to bodies and colliders as they are created, so this runs before any arena is built
        /// (and those keys are start-up only).
        /// </summary>
        static void ApplyPhysicsSettings(WorldParams w)
        {
            Time.fixedDeltaTime = (float)w.PhysicsTimestep;
            Physics.gravity = new Vector3(0f, (float)-w.Gravity, 0f);
            Physics.defaultSolverIterations = w.SolverPositionIterations;
            Physics.defaultSolverVelocityIterations = w.SolverVelocityIterations;
            Physics.defaultContactOffset = (float)w.ContactOffset;
        }

        void OnDestroy()
        {
            if (Academy.IsInitialized)
            {
                Academy.Instance.AgentPreStep -= OnAcademyPreStep;
                Academy.Instance.OnEnvironmentReset -= OnEnvironmentReset;
            }
            if (StateChannel != null) GlobalStateChannel.Shared.Release();
            StateChannel = null;
        }

        void OnAcademyPreStep(int academyStep)
        {
            foreach (var arena in m_Arenas) arena.OnAcademyPreStep(academyStep, DecisionPeriod);
        }

        /// <summary>A trainer's reset: new episodes everywhere (ML-Agents resets the agents itself, without done).</summary>
        void OnEnvironmentReset()
        {
            var world = ReadWorld(startup: false);
            var seed = ReadSeed(Seed);
            var reseed = seed != Seed;
            Seed = seed;
            foreach (var arena in m_Arenas) arena.OnEnvironmentReset(world, reseed);
        }

        /// <summary>Does the Python side want the global-state messages (<see cref="GlobalStateRequest"/>)? Read at every decision.</summary>
        public bool GlobalStateRequested
        {
            get { return GlobalStateRequest.IsRequested(Academy.Instance.EnvironmentParameters.GetWithDefault); }
        }

        /// <summary>
        /// The trainer may send <c>seed</c> (an integer below 2^24, exact in a float) to reseed the
        /// layouts at its next reset; episodes then restart their count from that seed.
        /// </summary>
        int ReadSeed(int current)
        {
            var value = Academy.Instance.EnvironmentParameters.GetWithDefault(SeedKey, current);
            var seed = Mathf.RoundToInt(value);
            if (Mathf.Abs(seed - value) > 1e-3f)
                throw new ArgumentException("EnvironmentParameters: seed = " + value + ": expected an integer");
            return seed;
        }

        /// <summary>
        /// The world for the next episode: compiled-in defaults overridden by the EnvironmentParameters.
        /// After start-up the fields that size tensors or the scene keep their start-up values.
        /// </summary>
        public WorldParams ReadWorld(bool startup)
        {
            var env = Academy.Instance.EnvironmentParameters;
            var defaults = startup ? null : World;
            if (defaults == null)
            {
                var fallback = DefaultScenario == Scenario.Quadrant ? 0f : 1f;
                var index = Mathf.RoundToInt(env.GetWithDefault("scenario", fallback));
                if (index < 0 || index >= WorldParams.Scenarios.Length)
                    throw new ArgumentException("EnvironmentParameters: scenario = " + index + ": expected 0 (quadrant) or 1 (random_rooms)");
                defaults = WorldDefaults.For(WorldParams.Scenarios[index]);
            }
            return WorldParamFields.Read(defaults, env.GetWithDefault, startup ? null : m_Frozen);
        }
    }
}
