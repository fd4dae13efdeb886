using UnityEngine;

namespace HideAndSeek
{
    /// <summary>
    /// Physics layers, named in ProjectSettings/TagManager.asset. Sight lines and lidar rays test
    /// walls, boxes and the ramps' full-footprint sight volumes (agents never block them, as in the twin).
    /// </summary>
    public static class Layers
    {
        public const int Agent = 6;
        public const int Wall = 7;
        public const int Box = 8;
        public const int Ramp = 9;
        /// <summary>Trigger volumes that make a ramp block sight over its whole footprint, not only under the slope.</summary>
        public const int RampSight = 10;

        public const int SightMask = (1 << Wall) | (1 << Box) | (1 << RampSight);
    }

    /// <summary>Team and lock colours (WORLD.md: team colours, lock colour by team).</summary>
    public static class Palette
    {
        public static readonly Color Hider = new Color(0.20f, 0.45f, 1.00f);
        public static readonly Color Seeker = new Color(1.00f, 0.30f, 0.20f);
        public static readonly Color Box = new Color(0.95f, 0.75f, 0.25f);
        public static readonly Color Ramp = new Color(0.60f, 0.60f, 0.55f);
        public static readonly Color Wall = new Color(0.35f, 0.35f, 0.40f);
        public static readonly Color Floor = new Color(0.85f, 0.85f, 0.80f);
        public static readonly Color LockedByHiders = new Color(0.10f, 0.20f, 0.60f);
        public static readonly Color LockedBySeekers = new Color(0.60f, 0.12f, 0.08f);

        public static Color ForTeam(int team)
        {
            return team == 0 ? Hider : Seeker;
        }

        /// <summary>Colour of a box or ramp given its lock team (-1 unlocked).</summary>
        public static Color ForObject(bool isRamp, int lockedTeam)
        {
            if (lockedTeam == 0) return LockedByHiders;
            if (lockedTeam == 1) return LockedBySeekers;
            return isRamp ? Ramp : Box;
        }

        static MaterialPropertyBlock s_Block;

        /// <summary>Tints a renderer without instantiating materials (built-in "_Color" and URP "_BaseColor").</summary>
        public static void Tint(Renderer renderer, Color color)
        {
            if (renderer == null) return;
            if (s_Block == null) s_Block = new MaterialPropertyBlock();
            s_Block.SetColor("_Color", color);
            s_Block.SetColor("_BaseColor", color);
            renderer.SetPropertyBlock(s_Block);
        }
    }
}
