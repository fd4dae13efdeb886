// Signature-only stand-ins for the UnityEngine types the project uses, for compiling with Mono's
// mcs in CI: Unity 6000.0.23f1 when UNITY_6000_0_OR_NEWER is defined, 2022.3 LTS otherwise.
// Nothing here ever runs: bodies throw. ci/api_signatures.py diff checks every type and member
// against Unity's C# reference source (ci/api/unity-*.json): add a member with its real signature.
using System;

namespace UnityEngine
{
    public class Object
    {
        public string name { get { throw null; } set { } }
        public static void Destroy(Object obj) { throw null; }
        public static implicit operator bool(Object exists) { throw null; }
    }

    public class Component : Object
    {
        public Transform transform { get { throw null; } }
        public GameObject gameObject { get { throw null; } }
        public string tag { get { throw null; } set { } }
        public T GetComponent<T>() { throw null; }
        public T GetComponentInParent<T>() { throw null; }
        public T[] GetComponents<T>() { throw null; }
        public T[] GetComponentsInChildren<T>(bool includeInactive) { throw null; }
    }

    public class Behaviour : Component
    {
        public bool enabled { get { throw null; } set { } }
    }

    public class MonoBehaviour : Behaviour { }

    public sealed class GameObject : Object
    {
        public GameObject(string name) { }
        public Transform transform { get { throw null; } }
        public int layer { get { throw null; } set { } }
        public bool activeSelf { get { throw null; } }
        public void SetActive(bool value) { throw null; }
        public T AddComponent<T>() where T : Component { throw null; }
        public T GetComponent<T>() { throw null; }
        public static GameObject CreatePrimitive(PrimitiveType type) { throw null; }
    }

    public enum PrimitiveType { Sphere = 0, Capsule = 1, Cylinder = 2, Cube = 3, Plane = 4, Quad = 5 }

    public class Transform : Component, System.Collections.IEnumerable
    {
        public Vector3 position { get { throw null; } set { } }
        public Vector3 localPosition { get { throw null; } set { } }
        public Quaternion rotation { get { throw null; } set { } }
        public Quaternion localRotation { get { throw null; } set { } }
        public Vector3 eulerAngles { get { throw null; } set { } }
        public Vector3 localEulerAngles { get { throw null; } set { } }
        public Vector3 localScale { get { throw null; } set { } }
        public Vector3 forward { get { throw null; } set { } }
        public Transform parent { get { throw null; } set { } }
        public int childCount { get { throw null; } }
        public void SetParent(Transform parent, bool worldPositionStays) { throw null; }
        public Transform GetChild(int index) { throw null; }
        public bool IsChildOf(Transform parent) { throw null; }
        public Vector3 TransformPoint(Vector3 position) { throw null; }
        public System.Collections.IEnumerator GetEnumerator() { throw null; }
    }

    public struct Vector3
    {
        public float x;
        public float y;
        public float z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public static Vector3 zero { get { throw null; } }
        public static Vector3 one { get { throw null; } }
        public static Vector3 up { get { throw null; } }
        public static Vector3 forward { get { throw null; } }
        public float magnitude { get { throw null; } }
        public Vector3 normalized { get { throw null; } }
        public static Vector3 operator +(Vector3 a, Vector3 b) { throw null; }
        public static Vector3 operator -(Vector3 a, Vector3 b) { throw null; }
        public static Vector3 operator *(Vector3 a, float d) { throw null; }
        public static Vector3 operator *(float d, Vector3 a) { throw null; }
        public static Vector3 operator /(Vector3 a, float d) { throw null; }
    }

    public struct Quaternion
    {
        public float x;
        public float y;
        public float z;
        public float w;
        public static Quaternion identity { get { throw null; } }
        public Vector3 eulerAngles { get { throw null; } set { } }
        public static Quaternion Euler(float x, float y, float z) { throw null; }
        public static Quaternion AngleAxis(float angle, Vector3 axis) { throw null; }
        public static bool operator ==(Quaternion lhs, Quaternion rhs) { throw null; }
        public static bool operator !=(Quaternion lhs, Quaternion rhs) { throw null; }
        public override bool Equals(object other) { throw null; }
        public override int GetHashCode() { throw null; }
    }

    public struct Color
    {
        public float r;
        public float g;
        public float b;
        public float a;
        public Color(float r, float g, float b) { this.r = r; this.g = g; this.b = b; this.a = 1f; }
        public Color(float r, float g, float b, float a) { this.r = r; this.g = g; this.b = b; this.a = a; }
        public static Color white { get { throw null; } }
        public static Color Lerp(Color a, Color b, float t) { throw null; }
    }

    public struct Mathf
    {
        public const float Deg2Rad = 0.0174532924F;
        public const float Rad2Deg = 57.29578F;
        public static int RoundToInt(float f) { throw null; }
        public static int CeilToInt(float f) { throw null; }
        public static float Sqrt(float f) { throw null; }
        public static float Sin(float f) { throw null; }
        public static float Cos(float f) { throw null; }
        public static float Max(float a, float b) { throw null; }
        public static int Max(int a, int b) { throw null; }
        public static float Min(float a, float b) { throw null; }
        public static float Clamp(float value, float min, float max) { throw null; }
        public static float Abs(float f) { throw null; }
    }

    public class Debug
    {
        public static void Log(object message) { throw null; }
        public static void LogWarning(object message) { throw null; }
        public static void LogError(object message) { throw null; }
    }

    public class Time
    {
        public static float fixedDeltaTime { get { throw null; } set { } }
        public static float deltaTime { get { throw null; } }
    }

    public class Application
    {
        public static bool isBatchMode { get { throw null; } }
        public static string dataPath { get { throw null; } }
        public static void Quit() { throw null; }
    }

    public enum ForceMode { Force = 0, Impulse = 1, VelocityChange = 2, Acceleration = 5 }

    [Flags]
    public enum RigidbodyConstraints
    {
        None = 0, FreezePositionX = 2, FreezePositionY = 4, FreezePositionZ = 8, FreezePosition = 14,
        FreezeRotationX = 16, FreezeRotationY = 32, FreezeRotationZ = 64, FreezeRotation = 112, FreezeAll = 126,
    }

    public class Rigidbody : Component
    {
#if UNITY_6000_0_OR_NEWER
        public Vector3 linearVelocity { get { throw null; } set { } }
        public float linearDamping { get { throw null; } set { } }
        public float angularDamping { get { throw null; } set { } }
#else
        public Vector3 velocity { get { throw null; } set { } }
        public float drag { get { throw null; } set { } }
        public float angularDrag { get { throw null; } set { } }
#endif
        public Vector3 angularVelocity { get { throw null; } set { } }
        public float mass { get { throw null; } set { } }
        public bool isKinematic { get { throw null; } set { } }
        public bool useGravity { get { throw null; } set { } }
        public RigidbodyConstraints constraints { get { throw null; } set { } }
        public Vector3 inertiaTensor { get { throw null; } set { } }
        public Quaternion inertiaTensorRotation { get { throw null; } set { } }
        public float maxAngularVelocity { get { throw null; } set { } }
        public Vector3 position { get { throw null; } set { } }
        public Quaternion rotation { get { throw null; } set { } }
        public void AddForce(Vector3 force, ForceMode mode) { throw null; }
        public void AddTorque(Vector3 torque, ForceMode mode) { throw null; }
    }

#if UNITY_6000_0_OR_NEWER
    public enum PhysicsMaterialCombine { Average = 0, Minimum = 2, Multiply = 1, Maximum = 3 }

    public class PhysicsMaterial : Object
    {
        public PhysicsMaterial(string name) { }
        public float dynamicFriction { get { throw null; } set { } }
        public float staticFriction { get { throw null; } set { } }
        public float bounciness { get { throw null; } set { } }
        public PhysicsMaterialCombine frictionCombine { get { throw null; } set { } }
        public PhysicsMaterialCombine bounceCombine { get { throw null; } set { } }
    }
#else
    public enum PhysicMaterialCombine { Average = 0, Minimum = 2, Multiply = 1, Maximum = 3 }

    public class PhysicMaterial : Object
    {
        public PhysicMaterial(string name) { }
        public float dynamicFriction { get { throw null; } set { } }
        public float staticFriction { get { throw null; } set { } }
        public float bounciness { get { throw null; } set { } }
        public PhysicMaterialCombine frictionCombine { get { throw null; } set { } }
        public PhysicMaterialCombine bounceCombine { get { throw null; } set { } }
    }
#endif

    public class Collider : Component
    {
        public bool enabled { get { throw null; } set { } }
        public bool isTrigger { get { throw null; } set { } }
        public Rigidbody attachedRigidbody { get { throw null; } }
#if UNITY_6000_0_OR_NEWER
        public PhysicsMaterial sharedMaterial { get { throw null; } set { } }
#else
        public PhysicMaterial sharedMaterial { get { throw null; } set { } }
#endif
    }

    public class BoxCollider : Collider
    {
        public Vector3 center { get { throw null; } set { } }
        public Vector3 size { get { throw null; } set { } }
    }

    public class CapsuleCollider : Collider
    {
        public Vector3 center { get { throw null; } set { } }
        public float radius { get { throw null; } set { } }
        public float height { get { throw null; } set { } }
    }

    public class MeshCollider : Collider
    {
        public Mesh sharedMesh { get { throw null; } set { } }
        public bool convex { get { throw null; } set { } }
    }

    public class Joint : Component
    {
        public Rigidbody connectedBody { get { throw null; } set { } }
        public float breakForce { get { throw null; } set { } }
        public float breakTorque { get { throw null; } set { } }
    }

    public class FixedJoint : Joint { }

    public enum QueryTriggerInteraction { UseGlobal = 0, Ignore = 1, Collide = 2 }

    public struct RaycastHit
    {
        public Collider collider { get { throw null; } }
        public float distance { get { throw null; } set { } }
        public Vector3 point { get { throw null; } set { } }
    }

    public class Physics
    {
        public static Vector3 gravity { get { throw null; } set { } }
        public static int defaultSolverIterations { get { throw null; } set { } }
        public static int defaultSolverVelocityIterations { get { throw null; } set { } }
        public static float defaultContactOffset { get { throw null; } set { } }
        public static int RaycastNonAlloc(Vector3 origin, Vector3 direction, RaycastHit[] results, float maxDistance,
            int layerMask, QueryTriggerInteraction queryTriggerInteraction) { throw null; }
        public static void IgnoreCollision(Collider collider1, Collider collider2, bool ignore) { throw null; }
        public static void SyncTransforms() { throw null; }
    }

    public sealed class Mesh : Object
    {
        public Mesh() { }
        public Vector3[] vertices { get { throw null; } set { } }
        public int[] triangles { get { throw null; } set { } }
        public void RecalculateNormals() { throw null; }
        public void RecalculateBounds() { throw null; }
    }

    public class Material : Object
    {
        public Material(Material source) { }
        public Color color { get { throw null; } set { } }
    }

    public sealed class MaterialPropertyBlock
    {
        public void SetColor(string name, Color value) { throw null; }
    }

    public class Renderer : Component
    {
        public bool enabled { get { throw null; } set { } }
        public Material sharedMaterial { get { throw null; } set { } }
        public void SetPropertyBlock(MaterialPropertyBlock properties) { throw null; }
    }

    public class MeshRenderer : Renderer { }

    public sealed class MeshFilter : Component
    {
        public Mesh sharedMesh { get { throw null; } set { } }
    }

    public enum LightType { Spot = 0, Directional = 1, Point = 2 }

    public sealed class Light : Behaviour
    {
        public LightType type { get { throw null; } set { } }
    }

    public sealed class Camera : Behaviour
    {
        public bool orthographic { get { throw null; } set { } }
        public float orthographicSize { get { throw null; } set { } }
    }

    public sealed class Gizmos
    {
        public static Color color { get { throw null; } set { } }
        public static void DrawLine(Vector3 from, Vector3 to) { throw null; }
    }

    public enum KeyCode { None = 0, Space = 32, A = 97, D = 100, E = 101, L = 108, Q = 113, S = 115, W = 119 }

#if ENABLE_LEGACY_INPUT_MANAGER
    public class Input
    {
        public static bool GetKey(KeyCode key) { throw null; }
        public static bool GetKeyDown(KeyCode key) { throw null; }
    }
#endif

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    public abstract class PropertyAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
    public class TooltipAttribute : PropertyAttribute { public TooltipAttribute(string tooltip) { } }

    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
    public class HeaderAttribute : PropertyAttribute { public HeaderAttribute(string header) { } }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class RequireComponent : Attribute { public RequireComponent(Type requiredComponent) { } }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DisallowMultipleComponent : Attribute { }

    [AttributeUsage(AttributeTargets.Class)]
    public class DefaultExecutionOrder : Attribute { public DefaultExecutionOrder(int order) { } }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
}

namespace UnityEngine.SceneManagement
{
    public struct Scene
    {
        public string path { get { throw null; } }
        public bool IsValid() { throw null; }
    }
}
