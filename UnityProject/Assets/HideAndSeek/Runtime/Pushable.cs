using HideAndSeek.Core;
using UnityEngine;

namespace HideAndSeek
{
    /// <summary>
    /// A box or ramp: a yaw-only Rigidbody that agents push, grab (a FixedJoint to the holder, so it
    /// keeps its offset and relative yaw) and lock (kinematic, so nothing moves it); floor friction
    /// stops it once released. Its heading is
    /// its local +z (Unity forward): SizeX is the footprint along it (a ramp rises along it), SizeY across.
    /// </summary>
    [DisallowMultipleComponent]
    public class Pushable : MonoBehaviour
    {
        // Set by ArenaFactory when it builds the object (never serialized: scenes are built from code).
        public bool IsRamp { get; set; }
        /// <summary>Object index in the arena: boxes [0, max_boxes), ramps after.</summary>
        public int Index { get; set; }
        public double SizeX { get; set; }
        public double SizeY { get; set; }
        public float Height { get; set; }

        public HideSeekArena Arena { get; private set; }
        public Rigidbody Body { get; private set; }
        public Collider[] Colliders { get; private set; }
        public bool Present { get; private set; }
        /// <summary>-1 unlocked, 0 hiders, 1 seekers.</summary>
        public int LockedTeam { get; private set; }
        /// <summary>Slot of the holding agent, -1 none.</summary>
        public int HeldBy { get; private set; }

        FixedJoint m_Joint;
        Collider m_HolderCollider;
        Renderer m_Renderer;

        public void Init(HideSeekArena arena, Rigidbody body, Renderer renderer)
        {
            Arena = arena;
            Body = body;
            m_Renderer = renderer;
            Colliders = GetComponentsInChildren<Collider>(true);
            LockedTeam = LockRules.Unlocked;
            HeldBy = -1;
        }

        /// <summary>Footprint in the arena frame (for reach and door-blocking tests).</summary>
        public OrientedRect Footprint
        {
            get
            {
                var p = transform.localPosition;
                return new OrientedRect(new Vec2(p.x, p.z), Frames.ThetaFromUnityYawDeg(transform.localEulerAngles.y),
                    new Vec2(SizeX / 2, SizeY / 2));
            }
        }

        public ObjectSnapshot Snapshot()
        {
            if (!Present) return new ObjectSnapshot { LockedTeam = -1, HeldBy = -1 };
            var p = transform.localPosition;
            var v = PhysicsCompat.GetVelocity(Body);
            return new ObjectSnapshot
            {
                Present = true,
                Pos = new Vec2(p.x, p.z),
                // The pivot is at the base, so the base height is the local y.
                Z = Mathf.Max(0f, p.y),
                Vel = Body.isKinematic ? new Vec2(0, 0) : new Vec2(v.x, v.z),
                Theta = Frames.ThetaFromUnityYawDeg(transform.localEulerAngles.y),
                SizeX = SizeX,
                SizeY = SizeY,
                LockedTeam = LockedTeam,
                HeldBy = HeldBy,
            };
        }

        /// <summary>Place for a new episode, or park out of the way when absent this episode.</summary>
        public void Spawn(bool present, Vector3 localPos, float yawDeg, Vector3 parkedAt)
        {
            Release();
            LockedTeam = LockRules.Unlocked;
            Present = present;
            Body.isKinematic = !present;
            foreach (var c in Colliders) c.enabled = present;
            if (m_Renderer != null) m_Renderer.enabled = present;
            transform.localPosition = present ? localPos : parkedAt;
            transform.localRotation = Quaternion.Euler(0f, yawDeg, 0f);
            if (!Body.isKinematic)
            {
                PhysicsCompat.SetVelocity(Body, Vector3.zero);
                Body.angularVelocity = Vector3.zero;
            }
            FreezeRotation(true);
            Recolour();
        }

        public void Grab(int slot, Rigidbody holder, Collider holderCollider)
        {
            if (!Present || LockedTeam != LockRules.Unlocked || HeldBy >= 0) return;
            HeldBy = slot;
            m_Joint = gameObject.AddComponent<FixedJoint>();
            m_Joint.connectedBody = holder;
            m_HolderCollider = holderCollider;
            // The holder does not collide with what it holds (as in the twin); the joint keeps them apart.
            foreach (var c in Colliders) Physics.IgnoreCollision(c, holderCollider, true);
            FreezeRotation(false);
        }

        public void Release()
        {
            if (m_Joint != null) Destroy(m_Joint);
            m_Joint = null;
            if (m_HolderCollider != null)
                foreach (var c in Colliders) Physics.IgnoreCollision(c, m_HolderCollider, false);
            m_HolderCollider = null;
            HeldBy = -1;
            FreezeRotation(true);
        }

        public void SetLock(int team)
        {
            if (team != LockRules.Unlocked) Release();
            LockedTeam = team;
            Body.isKinematic = team != LockRules.Unlocked || !Present;
            if (!Body.isKinematic)
            {
                PhysicsCompat.SetVelocity(Body, Vector3.zero);
                Body.angularVelocity = Vector3.zero;
            }
            Recolour();
        }

        /// <summary>Drag and floor friction (<see cref="MovementLaw"/>) on every physics step while it can move.</summary>
        void FixedUpdate()
        {
            if (!Present || Body == null || Body.isKinematic) return;
            var w = Arena.World;
            var v = PhysicsCompat.GetVelocity(Body);
            var velocity = new Vec2(v.x, v.z);
            var mass = IsRamp ? w.RampMass : w.BoxMass;
            var force = MovementLaw.Drag(velocity, mass, w.ObjectFriction)
                        + MovementLaw.FloorFriction(velocity, mass, w, Time.fixedDeltaTime);
            Body.AddForce(new Vector3((float)force.X, 0f, (float)force.Y), ForceMode.Force);
        }

        /// <summary>Objects only yaw, and only while held (they never tip over or spin when pushed).</summary>
        void FreezeRotation(bool all)
        {
            Body.constraints = all
                ? RigidbodyConstraints.FreezeRotation
                : RigidbodyConstraints.FreezeRotationX | RigidbodyConstraints.FreezeRotationZ;
        }

        void Recolour()
        {
            Palette.Tint(m_Renderer, Palette.ForObject(IsRamp, LockedTeam));
        }
    }
}
