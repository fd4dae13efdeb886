using System;

namespace HideAndSeek.Core
{
    /// <summary>
    /// The twin's counter-based layout random numbers (<c>hideseek/sim/rng.py</c>), bit for bit:
    /// value = hash(seed, episode, stream, index) with the lowbias32 hash. Each draw opens a new
    /// stream, so Unity and the twin lay out the same episode from the same (seed, episode) as long
    /// as both draw in the same order (<see cref="LayoutGenerator"/> follows <c>sim/layouts.py</c>).
    /// </summary>
    public sealed class LayoutRng
    {
        readonly uint m_Key;
        uint m_Stream;

        public LayoutRng(long seed, long episode)
        {
            unchecked
            {
                var key = Hash32((uint)seed);
                m_Key = Hash32(key ^ Hash32((uint)episode * 0x9E3779B1u + 0x632BE5ABu));
            }
        }

        /// <summary>lowbias32; uint arithmetic wraps exactly like the twin's masked int64.</summary>
        public static uint Hash32(uint x)
        {
            unchecked
            {
                x ^= x >> 16;
                x *= 0x7FEB352Du;
                x ^= x >> 15;
                x *= 0x846CA68Bu;
                x ^= x >> 16;
                return x;
            }
        }

        /// <summary><paramref name="count"/> floats in [0, 1), float32 values k / 2^24 as in the twin.</summary>
        public float[] Uniform(int count)
        {
            unchecked
            {
                m_Stream++;
                var u = new float[count];
                for (var i = 0; i < count; i++)
                {
                    var x = Hash32(m_Key ^ Hash32((uint)i + m_Stream * 0x01000193u));
                    x = Hash32(x + m_Stream);
                    u[i] = (x >> 8) * (1f / (1 << 24));
                }
                return u;
            }
        }

        /// <summary>One integer in [low, high] (inclusive), from one new stream.</summary>
        public int Integer(int low, int high)
        {
            return Integers(new[] { low }, new[] { high })[0];
        }

        /// <summary>Integers in [low[i], high[i]] from one new stream of low.Length draws.</summary>
        public int[] Integers(int[] low, int[] high)
        {
            if (low.Length != high.Length)
                throw new ArgumentException("LayoutRng.Integers: " + low.Length + " lows for " + high.Length + " highs");
            var u = Uniform(low.Length);
            var r = new int[u.Length];
            for (var i = 0; i < u.Length; i++)
            {
                // The twin multiplies in float32: a product of two floats is exact in double, so
                // rounding it to float gives the same value, and the same floor.
                var scaled = (float)((double)u[i] * (high[i] - low[i] + 1));
                r[i] = Math.Min(low[i] + (int)Math.Floor(scaled), high[i]);
            }
            return r;
        }
    }
}
