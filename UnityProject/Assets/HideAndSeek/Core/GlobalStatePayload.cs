using System;
using System.IO;

namespace HideAndSeek.Core
{
    /// <summary>
    /// The payload of one global-state side-channel message (PROTOCOL.md section 7 primitives,
    /// little-endian): <c>int32 arena_index, int32 step_in_episode, int32 count, float32 x count</c>,
    /// i.e. ML-Agents' WriteInt32, WriteInt32, WriteFloatList. Written here without UnityEngine so
    /// CI can check it byte for byte; the Python side decodes it with
    /// <c>hideseek.envs.side_channels.decode_global_state</c>.
    /// </summary>
    public static class GlobalStatePayload
    {
        public static byte[] Encode(int arena, int stepInEpisode, float[] state)
        {
            using (var stream = new MemoryStream(12 + 4 * state.Length))
            {
                WriteInt32(stream, arena);
                WriteInt32(stream, stepInEpisode);
                WriteInt32(stream, state.Length);
                foreach (var v in state)
                {
                    if (float.IsNaN(v) || float.IsInfinity(v))
                        throw new ArgumentException("global state of arena " + arena + " holds a non-finite value " + v);
                    WriteFloat32(stream, v);
                }
                return stream.ToArray();
            }
        }

        public static void Decode(byte[] payload, out int arena, out int stepInEpisode, out float[] state)
        {
            if (payload.Length < 12)
                throw new ArgumentException("global-state payload of " + payload.Length + " bytes: at least 12 expected");
            arena = ReadInt32(payload, 0);
            stepInEpisode = ReadInt32(payload, 4);
            var count = ReadInt32(payload, 8);
            if (count < 0 || payload.Length != 12 + 4 * count)
                throw new ArgumentException("global-state payload claims " + count + " floats in " + (payload.Length - 12) + " bytes");
            state = new float[count];
            for (var i = 0; i < count; i++) state[i] = ReadFloat32(payload, 12 + 4 * i);
        }

        static void WriteInt32(Stream s, int v)
        {
            var b = BitConverter.GetBytes(v);
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            s.Write(b, 0, 4);
        }

        static void WriteFloat32(Stream s, float v)
        {
            var b = BitConverter.GetBytes(v);
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            s.Write(b, 0, 4);
        }

        static int ReadInt32(byte[] data, int offset)
        {
            var b = new byte[4];
            Array.Copy(data, offset, b, 0, 4);
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            return BitConverter.ToInt32(b, 0);
        }

        static float ReadFloat32(byte[] data, int offset)
        {
            var b = new byte[4];
            Array.Copy(data, offset, b, 0, 4);
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            return BitConverter.ToSingle(b, 0);
        }
    }
}

namespace HideAndSeek.Core
{
    /// <summary>
    /// Whether the Python side asked for the global-state messages: the EnvironmentParameters value
    /// of <see cref="Contract.GlobalStateRequestKey"/> is above 0.5 (the adapter sets 1.0). Default
    /// none, so a trainer that does not know the channel (mlagents-learn) never receives them.
    /// </summary>
    public static class GlobalStateRequest
    {
        public static bool IsRequested(Func<string, float, float> getWithDefault)
        {
            return getWithDefault(Contract.GlobalStateRequestKey, 0f) > 0.5f;
        }
    }
}
