// The one type that differs between the supported ML-Agents versions: the policy model asset of
// Behavior Parameters. com.unity.ml-agents 3.0.0 runs policies with Sentis 2.1 (Unity.Sentis.ModelAsset);
// 2.0.x (Unity 2022.3 LTS) with Barracuda (Unity.Barracuda.NNModel).
#if HIDESEEK_MLAGENTS_3
namespace Unity.Sentis
{
    public class ModelAsset : UnityEngine.ScriptableObject { }
}
#else
namespace Unity.Barracuda
{
    public class NNModel : UnityEngine.ScriptableObject { }
}
#endif

namespace UnityEngine
{
    public class ScriptableObject : Object { }
}
