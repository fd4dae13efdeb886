// The one type that differs between the supported ML-Agents versions: the policy model asset of
// Behavior Parameters. com.unity.ml-agents 3.0.0 runs policies with Sentis 2.1.0 (Unity.Sentis.ModelAsset);
// 2.3.0-exp.3 (Unity 2022.3 LTS) with Barracuda 3.0.0 (Unity.Barracuda.NNModel). Checked against
// both packages by ci/api_signatures.py diff.
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
