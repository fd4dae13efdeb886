using HideAndSeek.Core;
using Unity.MLAgents.Sensors;
using UnityEngine;

namespace HideAndSeek
{
    /// <summary>
    /// The obs_0 vector sensor (self + lidar) under the name <see cref="Contract.SensorNames"/>[0].
    /// The Agent's built-in CollectObservations sensor is not used (Behavior Parameters' vector
    /// observation size is 0) because its fixed name "VectorSensor_sizeN" would sort after the
    /// buffer sensors and break the obs_0..obs_3 order.
    /// </summary>
    [DisallowMultipleComponent]
    public class SelfSensorComponent : SensorComponent
    {
        [SerializeField] private int m_ObservationSize = 41;

        public int ObservationSize { get { return m_ObservationSize; } set { m_ObservationSize = value; } }
        VectorSensor m_Sensor;

        public VectorSensor Sensor { get { return m_Sensor; } }

        public override ISensor[] CreateSensors()
        {
            m_Sensor = new VectorSensor(ObservationSize, Contract.SensorNames[0]);
            return new ISensor[] { m_Sensor };
        }
    }
}
