// ML-Agents 2.0.x sends stale terminal observations when an agent has no vector-observation sensor
// (NotifyAgentDone refreshes only that one; fixed in 2.1.0-exp.1), which is this agent's setup.
// The asmdefs define HIDESEEK_MLAGENTS_3 for 3.0.0 and HIDESEEK_MLAGENTS_2 for [2.3.0-exp.3, 3.0.0).
#if !HIDESEEK_MLAGENTS_3 && !HIDESEEK_MLAGENTS_2
#error HideAndSeek needs com.unity.ml-agents 3.0.0 (Unity 6) or 2.3.0-exp.3 (Unity 2022.3): 2.0.x gives stale terminal observations
#endif
using HideAndSeek.Core;
using Unity.MLAgents;
using Unity.MLAgents.Actuators;
using Unity.MLAgents.Sensors;
using UnityEngine;

namespace HideAndSeek
{
    /// <summary>
    /// One hider or seeker. Behavior "Hider"/"Seeker" with team id 0/1 and branches [11, 11, 11, 2, 2]
    /// (set up by <see cref="ArenaFactory"/>). Decisions come every DecisionPeriod physics steps; the
    /// chosen force and turn, with the drag and floor friction of <see cref="MovementLaw"/>, act on
    /// every physics step in between, grab and lock once per decision. Observations, rewards and episode ends are driven by its <see cref="HideSeekArena"/>.
    /// </summary>
    public class HideSeekAgent : Agent
    {
        [Tooltip("Distance from the body's pivot (centre) down to its feet (m).")]
        [SerializeField] private float m_FootOffset = 0.25f;

        /// <summary>Distance from the body's pivot (centre) down to its feet.</summary>
        public float FootOffset { get { return m_FootOffset; } set { m_FootOffset = value; } }

        public HideSeekArena Arena { get; private set; }
        public int Slot { get; private set; }
        public Team Team { get; private set; }
        public bool Present { get; private set; }
        public Rigidbody Body { get; private set; }
        public Collider BodyCollider { get; private set; }

        SelfSensorComponent m_Self;
        BufferSensorComponent m_AgentsSensor;
        BufferSensorComponent m_BoxesSensor;
        BufferSensorComponent m_RampsSensor;
        Renderer m_Renderer;
        readonly int[] m_Action = ActionMapping.Noop();

        /// <summary>Called by the factory before the GameObject is activated (so before Agent.OnEnable).</summary>
        public void Bind(HideSeekArena arena, int slot, Team team, Rigidbody body, Collider bodyCollider, Renderer renderer,
            SelfSensorComponent self, BufferSensorComponent agents, BufferSensorComponent boxes, BufferSensorComponent ramps)
        {
            Arena = arena;
            Slot = slot;
            Team = team;
            Body = body;
            BodyCollider = bodyCollider;
            m_Renderer = renderer;
            m_Self = self;
            m_AgentsSensor = agents;
            m_BoxesSensor = boxes;
            m_RampsSensor = ramps;
        }

        public override void Initialize()
        {
            // The arena ends episodes at its horizon (for both teams at once): no per-agent MaxStep.
            MaxStep = 0;
        }

        public override void OnEpisodeBegin()
        {
            // Placement is the arena's job (it resets every agent of the arena together).
            Stop();
        }

        public AgentSnapshot Snapshot()
        {
            if (!Present) return new AgentSnapshot { Team = Team };
            var p = transform.localPosition;
            var v = PhysicsCompat.GetVelocity(Body);
            return new AgentSnapshot
            {
                Present = true,
                Team = Team,
                Pos = new Vec2(p.x, p.z),
                Z = Mathf.Max(0f, p.y - FootOffset),
                Vel = new Vec2(v.x, v.z),
                Theta = Frames.ThetaFromUnityYawDeg(transform.localEulerAngles.y),
                AngVel = Frames.ThetaRateFromUnity(Body.angularVelocity.y),
            };
        }

        /// <summary>Centre in the arena frame (the arena root is only translated).</summary>
        public Vec2 ArenaPosition
        {
            get
            {
                var p = transform.localPosition;
                return new Vec2(p.x, p.z);
            }
        }

        /// <summary>Height of the feet above the floor.</summary>
        public double Feet { get { return transform.localPosition.y - FootOffset; } }

        /// <summary>Move with the box under it: an arena-frame shift and a turn (rad, counter-clockwise).</summary>
        public void Carry(Vec2 shift, double turn)
        {
            if (shift.X == 0 && shift.Y == 0 && turn == 0) return;
            Body.position += new Vector3((float)shift.X, 0f, (float)shift.Y);
            var yaw = Frames.UnityYawDegFromTheta(Frames.ThetaFromUnityYawDeg(transform.localEulerAngles.y) + turn);
            Body.rotation = Quaternion.Euler(0f, (float)yaw, 0f);
        }

        /// <summary>Lift the feet to <paramref name="feet"/> if they sank below it (standing on a top), and stop falling.</summary>
        public void HoldFeetAt(double feet)
        {
            var sink = feet - Feet;
            if (sink <= 1e-4) return;
            Body.position += new Vector3(0f, (float)sink, 0f);
            var v = PhysicsCompat.GetVelocity(Body);
            if (v.y < 0f) PhysicsCompat.SetVelocity(Body, new Vector3(v.x, 0f, v.z));
        }

        /// <summary>Place for a new episode, or park (kinematic, hidden, no collisions) when absent.</summary>
        public void Spawn(bool present, Vector3 localFeet, float yawDeg, Vector3 parkedAt)
        {
            Present = present;
            Body.isKinematic = !present;
            BodyCollider.enabled = present;
            if (m_Renderer != null) m_Renderer.enabled = present;
            transform.localPosition = (present ? localFeet : parkedAt) + new Vector3(0f, FootOffset, 0f);
            transform.localRotation = Quaternion.Euler(0f, yawDeg, 0f);
            Stop();
        }

        void Stop()
        {
            var noop = ActionMapping.Noop();
            for (var i = 0; i < noop.Length; i++) m_Action[i] = noop[i];
            if (Body != null && !Body.isKinematic)
            {
                PhysicsCompat.SetVelocity(Body, Vector3.zero);
                Body.angularVelocity = Vector3.zero;
            }
        }

        public override void CollectObservations(VectorSensor unused)
        {
            // The Agent's own vector sensor is disabled (size 0); this fills the four named sensors.
            var s = Arena.Snapshot;
            var self = ObsPacker.Self(s, Slot);
            foreach (var v in self) m_Self.Sensor.AddObservation(v);
            foreach (var row in ObsPacker.AgentRows(s, Slot)) m_AgentsSensor.AppendObservation(row);
            foreach (var row in ObsPacker.ObjectRows(s, Slot, false)) m_BoxesSensor.AppendObservation(row);
            foreach (var row in ObsPacker.ObjectRows(s, Slot, true)) m_RampsSensor.AppendObservation(row);
        }

        public override void WriteDiscreteActionMask(IDiscreteActionMask actionMask)
        {
            var mask = ActionMapping.Mask(ActionMapping.IsFrozen(Team, Present, Arena.Snapshot.Phase));
            var i = 0;
            for (var b = 0; b < Contract.ActionBranches.Length; b++)
                for (var a = 0; a < Contract.ActionBranches[b]; a++)
                    actionMask.SetActionEnabled(b, a, mask[i++]);
        }

        public override void OnActionReceived(ActionBuffers actions)
        {
            var d = actions.DiscreteActions;
            var frozen = ActionMapping.IsFrozen(Team, Present, Arena.Snapshot.Phase);
            var noop = ActionMapping.Noop();
            for (var i = 0; i < m_Action.Length; i++) m_Action[i] = frozen ? noop[i] : d[i];
            // Grab and lock act once per decision, on what the agent saw at its last observation.
            Arena.Interact(this, m_Action[3] == 1, m_Action[4] == 1);
        }

        void FixedUpdate()
        {
            if (!Present || Body == null || Body.isKinematic) return;
            var w = Arena.World;
            var h = Time.fixedDeltaTime;
            // Arena frame = world axes (arenas are never rotated): x -> Unity x, y -> Unity z.
            var v = PhysicsCompat.GetVelocity(Body);
            var velocity = new Vec2(v.x, v.z);
            var force = new Vec2(ActionMapping.Unit(m_Action[0]) * w.MaxForce, ActionMapping.Unit(m_Action[1]) * w.MaxForce)
                        + MovementLaw.Drag(velocity, w.AgentMass, w.AgentFriction)
                        + MovementLaw.FloorFriction(velocity, w.AgentMass, w, h);
            Body.AddForce(new Vector3((float)force.X, 0f, (float)force.Y), ForceMode.Force);
            // The agent turns what it holds with it, as one body (the joint makes them one): the
            // turning law with their joint yaw inertia, and that turn given to both.
            var centre = ArenaPosition;
            var inertia = w.AgentInertia;
            foreach (var held in Arena.HeldBy(Slot))
            {
                var p = held.Footprint;
                inertia += MovementLaw.HeldInertia(held.Body.mass, held.SizeX, held.SizeY, p.Centre - centre);
            }
            var omega = Frames.ThetaRateFromUnity(Body.angularVelocity.y);
            var turned = MovementLaw.SpinRate(omega, ActionMapping.Unit(m_Action[2]) * w.MaxTorque, inertia, w, h);
            var spin = new Vector3(0f, (float)Frames.UnityTorqueY(turned), 0f);
            Body.angularVelocity = spin;
            foreach (var held in Arena.HeldBy(Slot))
            {
                // Its velocity about the holder's centre changes with the turn: (w' - w) x offset.
                var r = held.Footprint.Centre - centre;
                var dv = new Vec2(-r.Y, r.X) * (turned - omega);
                var hv = PhysicsCompat.GetVelocity(held.Body);
                PhysicsCompat.SetVelocity(held.Body, hv + new Vector3((float)dv.X, 0f, (float)dv.Y));
                held.Body.angularVelocity = spin;
            }
        }

        /// <summary>Keyboard play for the arena's human slot: WASD move, Q/E turn, Space grab (hold), L lock.</summary>
        public override void Heuristic(in ActionBuffers actionsOut)
        {
            var d = actionsOut.DiscreteActions;
            var noop = ActionMapping.Noop();
            for (var i = 0; i < noop.Length; i++) d[i] = noop[i];
            if (!Arena.IsHumanSlot(Slot)) return;
#if ENABLE_LEGACY_INPUT_MANAGER
            d[0] = Input.GetKey(KeyCode.D) ? 10 : Input.GetKey(KeyCode.A) ? 0 : Contract.NoMoveBin;
            d[1] = Input.GetKey(KeyCode.W) ? 10 : Input.GetKey(KeyCode.S) ? 0 : Contract.NoMoveBin;
            d[2] = Input.GetKey(KeyCode.Q) ? 10 : Input.GetKey(KeyCode.E) ? 0 : Contract.NoMoveBin;
            d[3] = Input.GetKey(KeyCode.Space) ? 1 : 0;
            d[4] = Input.GetKey(KeyCode.L) ? 1 : 0;
#else
            Arena.WarnNoKeyboardOnce();
#endif
        }

        void OnDrawGizmos()
        {
            if (Arena == null || !Present) return;
            var w = Arena.World;
            var theta = Frames.ThetaFromUnityYawDeg(transform.localEulerAngles.y);
            var half = w.VisionConeDeg * Mathf.Deg2Rad / 2;
            var eye = transform.position;
            Gizmos.color = Palette.ForTeam((int)Team);
            for (var k = -1; k <= 1; k += 2)
            {
                var a = theta + k * half;
                Gizmos.DrawLine(eye, eye + new Vector3(Mathf.Cos((float)a), 0f, Mathf.Sin((float)a)) * 1.5f);
            }
            var s = Arena.Snapshot;
            if (s == null) return;
            Gizmos.color = Color.Lerp(Palette.ForTeam((int)Team), Color.white, 0.5f);
            for (var t = 0; t < s.Agents.Length; t++)
                if (s.SeenAgents[Slot, t]) Gizmos.DrawLine(eye, Arena.AgentAt(t).transform.position);
        }
    }
}
