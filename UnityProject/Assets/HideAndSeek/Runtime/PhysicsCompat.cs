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

        /// <summary>Viscous friction: Unity applies v *= 1 / (1 + damping * dt) each physics step, the twin's implicit form.</summary>
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

        /// <summary>A frictionless material: movement is governed by damping, as in the twin, not by Coulomb friction.</summary>
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
