// Signature-only stand-ins for the com.unity.ml-agents API the project uses: 3.0.0 with
// HIDESEEK_MLAGENTS_3, else 2.3.0-exp.3 (the Unity 2022.3 path). ci/api_signatures.py diff checks
// every member here against the signatures extracted from the published packages (ci/api/), so a
// member that is missing or different in the real API fails CI; implementations (ISensor) and
// overrides (abstract members) must list everything the real type requires.
using System;
using System.Collections.Generic;
using UnityEngine;
using Unity.MLAgents.Actuators;
using Unity.MLAgents.Policies;
using Unity.MLAgents.Sensors;
#if HIDESEEK_MLAGENTS_3
using PolicyModel = Unity.Sentis.ModelAsset;
#else
using PolicyModel = Unity.Barracuda.NNModel;
#endif

namespace Unity.MLAgents
{
    [RequireComponent(typeof(BehaviorParameters))]
    public partial class Agent : MonoBehaviour, IActionReceiver, IHeuristicProvider
    {
        public int MaxStep;
        public int StepCount { get { throw null; } }
        public int CompletedEpisodes { get { throw null; } }
        protected internal virtual void Awake() { throw null; }
        protected virtual void OnEnable() { throw null; }
        protected virtual void OnDisable() { throw null; }
        public virtual void Initialize() { throw null; }
        public virtual void OnEpisodeBegin() { throw null; }
        public virtual void CollectObservations(VectorSensor sensor) { throw null; }
        public virtual void WriteDiscreteActionMask(IDiscreteActionMask actionMask) { throw null; }
        public virtual void OnActionReceived(ActionBuffers actions) { throw null; }
        public virtual void Heuristic(in ActionBuffers actionsOut) { throw null; }
        public void AddReward(float increment) { throw null; }
        public void SetReward(float reward) { throw null; }
        public float GetCumulativeReward() { throw null; }
        public void EndEpisode() { throw null; }
        public void EpisodeInterrupted() { throw null; }
        public void RequestDecision() { throw null; }
        public void RequestAction() { throw null; }
    }

    public class DecisionRequester : MonoBehaviour
    {
        public int DecisionPeriod;
        public bool TakeActionsBetweenDecisions;
    }

    public enum StatAggregationMethod { Average = 0, MostRecent = 1, Sum = 2, Histogram = 3 }

    public sealed class StatsRecorder
    {
        public void Add(string key, float value, StatAggregationMethod aggregationMethod = StatAggregationMethod.Average) { throw null; }
    }

    public sealed class EnvironmentParameters
    {
        public float GetWithDefault(string key, float defaultValue) { throw null; }
        public void RegisterCallback(string key, Action<float> action) { throw null; }
        public IList<string> Keys() { throw null; }
    }

    public class Academy : IDisposable
    {
        public static Academy Instance { get { throw null; } }
        public static bool IsInitialized { get { throw null; } }
        public bool IsCommunicatorOn { get { throw null; } }
        public int StepCount { get { throw null; } }
        public int TotalStepCount { get { throw null; } }
        public EnvironmentParameters EnvironmentParameters { get { throw null; } }
        public StatsRecorder StatsRecorder { get { throw null; } }
        public event Action<int> AgentPreStep;
        public event Action OnEnvironmentReset;
        public void Dispose() { throw null; }
    }

    public interface IMultiAgentGroup
    {
        int GetId();
        void RegisterAgent(Agent agent);
        void UnregisterAgent(Agent agent);
    }

    public class SimpleMultiAgentGroup : IMultiAgentGroup, IDisposable
    {
        public int GetId() { throw null; }
        public virtual void Dispose() { throw null; }
        public virtual void RegisterAgent(Agent agent) { throw null; }
        public virtual void UnregisterAgent(Agent agent) { throw null; }
        public IReadOnlyCollection<Agent> GetRegisteredAgents() { throw null; }
        public void AddGroupReward(float reward) { throw null; }
        public void SetGroupReward(float reward) { throw null; }
        public void EndGroupEpisode() { throw null; }
        public void GroupEpisodeInterrupted() { throw null; }
    }
}

namespace Unity.MLAgents.Actuators
{
    public readonly struct ActionSegment<T> where T : struct
    {
        public readonly int Length;
        public T this[int index] { get { throw null; } set { } }
    }

    public readonly struct ActionBuffers
    {
        public ActionSegment<float> ContinuousActions { get { throw null; } }
        public ActionSegment<int> DiscreteActions { get { throw null; } }
    }

    public struct ActionSpec
    {
        public int NumContinuousActions { get { throw null; } set { } }
        public int NumDiscreteActions { get { throw null; } }
        public int[] BranchSizes;
        public static ActionSpec MakeDiscrete(params int[] branchSizes) { throw null; }
        public static ActionSpec MakeContinuous(int numActions) { throw null; }
    }

    public interface IDiscreteActionMask
    {
        void SetActionEnabled(int branch, int actionIndex, bool isEnabled);
    }

    public interface IActionReceiver
    {
        void OnActionReceived(ActionBuffers actionBuffers);
        void WriteDiscreteActionMask(IDiscreteActionMask actionMask);
    }

    public interface IHeuristicProvider
    {
        void Heuristic(in ActionBuffers actionBuffersOut);
    }
}

namespace Unity.MLAgents.Policies
{
    public enum BehaviorType { Default = 0, HeuristicOnly = 1, InferenceOnly = 2 }

#if HIDESEEK_MLAGENTS_3
    public enum InferenceDevice { Default = 0, ComputeShader = 1, Burst = 2, PixelShader = 3 }
#else
    public enum InferenceDevice { Default = 0, GPU = 1, Burst = 2, CPU = 3 }
#endif

    [Serializable]
    public class BrainParameters
    {
        public int VectorObservationSize = 1;
        public int NumStackedVectorObservations = 1;
        public ActionSpec ActionSpec { get { throw null; } set { } }
    }

    public class BehaviorParameters : MonoBehaviour
    {
        public BrainParameters BrainParameters { get { throw null; } internal set { } }
        public PolicyModel Model { get { throw null; } set { } }
        public InferenceDevice InferenceDevice { get { throw null; } set { } }
        public BehaviorType BehaviorType { get { throw null; } set { } }
        public string BehaviorName { get { throw null; } set { } }
        public int TeamId;
        public bool UseChildSensors { get { throw null; } set { } }
        public bool UseChildActuators { get { throw null; } set { } }
        public string FullyQualifiedBehaviorName { get { throw null; } }
    }
}

namespace Unity.MLAgents.Sensors
{
    public enum ObservationType { Default = 0, GoalSignal = 1 }

    public struct ObservationSpec { }

    public struct CompressionSpec { }

    public class ObservationWriter { }

    public interface ISensor
    {
        ObservationSpec GetObservationSpec();
        int Write(ObservationWriter writer);
        byte[] GetCompressedObservation();
        void Update();
        void Reset();
        CompressionSpec GetCompressionSpec();
        string GetName();
    }

    public abstract class SensorComponent : MonoBehaviour
    {
        public abstract ISensor[] CreateSensors();
    }

    public class VectorSensor : ISensor
    {
        public VectorSensor(int observationSize, string name = null, ObservationType observationType = ObservationType.Default) { }
        public ObservationSpec GetObservationSpec() { throw null; }
        public int Write(ObservationWriter writer) { throw null; }
        public virtual byte[] GetCompressedObservation() { throw null; }
        public void Update() { throw null; }
        public void Reset() { throw null; }
        public CompressionSpec GetCompressionSpec() { throw null; }
        public string GetName() { throw null; }
        public void AddObservation(float observation) { throw null; }
        public void AddObservation(int observation) { throw null; }
        public void AddObservation(Vector3 observation) { throw null; }
        public void AddObservation(IList<float> observation) { throw null; }
    }

    public class BufferSensorComponent : SensorComponent
    {
        public string SensorName { get { throw null; } set { } }
        public int ObservableSize { get { throw null; } set { } }
        public int MaxNumObservables { get { throw null; } set { } }
        public override ISensor[] CreateSensors() { throw null; }
        public void AppendObservation(float[] obs) { throw null; }
    }
}

namespace Unity.MLAgents.SideChannels
{
    public class IncomingMessage : IDisposable
    {
        public int ReadInt32(int defaultValue = 0) { throw null; }
        public float ReadFloat32(float defaultValue = 0f) { throw null; }
        public byte[] GetRawBytes() { throw null; }
        public void Dispose() { throw null; }
    }

    public class OutgoingMessage : IDisposable
    {
        public void WriteBoolean(bool b) { throw null; }
        public void WriteInt32(int i) { throw null; }
        public void WriteFloat32(float f) { throw null; }
        public void WriteString(string s) { throw null; }
        public void WriteFloatList(IList<float> floatList) { throw null; }
        public void SetRawBytes(byte[] data) { throw null; }
        public void Dispose() { throw null; }
    }

    public abstract class SideChannel
    {
        public Guid ChannelId { get { throw null; } protected set { } }
        protected abstract void OnMessageReceived(IncomingMessage msg);
        protected void QueueMessageToSend(OutgoingMessage msg) { throw null; }
    }

    public static class SideChannelManager
    {
        public static void RegisterSideChannel(SideChannel sideChannel) { throw null; }
        public static void UnregisterSideChannel(SideChannel sideChannel) { throw null; }
    }
}
