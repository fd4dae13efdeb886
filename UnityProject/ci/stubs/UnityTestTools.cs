// Signature-only stand-ins for the Unity Test Framework's Play Mode types (UnityEngine.TestRunner).
using System;

namespace UnityEngine
{
    public class YieldInstruction { }

    public sealed class WaitForFixedUpdate : YieldInstruction { }
}

namespace UnityEngine.TestTools
{
    [AttributeUsage(AttributeTargets.Method)]
    public class UnityTestAttribute : Attribute { }
}
