using UnityEngine;

namespace HideAndSeek
{
    /// <summary>
    /// Rigidbody and physics-material members Unity 6 renamed (velocity -> linearVelocity,
    /// drag -> linearDamping, angularDrag -> angularDamping, PhysicMaterial -> PhysicsMaterial);
    /// the old names remain for Unity 2022.3 LTS.
    /// </summary>
    public static class PhysicsCompat
    {
        public static Vector3 GetVelocity(Rigidbody rb)
        {
#if UNITY_6000_0_OR_NEWER
            return rb.linearVelocity;
#else
            return rb.velocity;
#endif
        }

        public static void SetVelocity(Rigidbody rb, Vector3 v)
        {
#if UNITY_6000_0_OR_NEWER
            rb.linearVelocity = v;
#else
            rb.velocity = v;
#endif
        }

        /// <summary>
        /// Rigidbody damping. PhysX scales velocities by max(0, 1 - damping * dt) each physics step
        /// (DyBodyCoreIntegrator.h, bodyCoreComputeUnconstrainedVelocity), a top speed that depends on
        /// the timestep; the scene sets 0 and applies <see cref="HideAndSeek.Core.MovementLaw"/> instead.
        /// </summary>
        public static void SetDamping(Rigidbody rb, float linear, float angular)
        {
#if UNITY_6000_0_OR_NEWER
            rb.linearDamping = linear;
            rb.angularDamping = angular;
#else
            rb.drag = linear;
            rb.angularDrag = angular;
#endif
        }

        /// <summary>A frictionless material: bodies slide along each other and the walls, as in the twin; floor friction is a force of <see cref="HideAndSeek.Core.MovementLaw"/>.</summary>
        public static void MakeFrictionless(Collider collider)
        {
#if UNITY_6000_0_OR_NEWER
            var m = new PhysicsMaterial("HideSeekFrictionless");
            m.frictionCombine = PhysicsMaterialCombine.Minimum;
            m.bounceCombine = PhysicsMaterialCombine.Minimum;
#else
            var m = new PhysicMaterial("HideSeekFrictionless");
            m.frictionCombine = PhysicMaterialCombine.Minimum;
            m.bounceCombine = PhysicMaterialCombine.Minimum;
#endif
            m.dynamicFriction = 0f;
            m.staticFriction = 0f;
            m.bounciness = 0f;
            collider.sharedMaterial = m;
        }
    }
}
