using System;

namespace HideAndSeek.Core
{
    /// <summary>A point or vector in the arena's top-down plane: x = Unity x, y = Unity z.</summary>
    public struct Vec2
    {
        public double X;
        public double Y;

        public Vec2(double x, double y)
        {
            X = x;
            Y = y;
        }

        public static Vec2 operator +(Vec2 a, Vec2 b) { return new Vec2(a.X + b.X, a.Y + b.Y); }
        public static Vec2 operator -(Vec2 a, Vec2 b) { return new Vec2(a.X - b.X, a.Y - b.Y); }
        public static Vec2 operator *(Vec2 a, double s) { return new Vec2(a.X * s, a.Y * s); }

        public double Length { get { return Math.Sqrt(X * X + Y * Y); } }
        public static double Dot(Vec2 a, Vec2 b) { return a.X * b.X + a.Y * b.Y; }
        public static double Cross(Vec2 a, Vec2 b) { return a.X * b.Y - a.Y * b.X; }

        /// <summary>Unit vector of heading theta (counter-clockwise from +x).</summary>
        public static Vec2 FromAngle(double theta) { return new Vec2(Math.Cos(theta), Math.Sin(theta)); }

        public Vec2 Rotate(double angle)
        {
            var c = Math.Cos(angle);
            var s = Math.Sin(angle);
            return new Vec2(c * X - s * Y, s * X + c * Y);
        }

        public override string ToString()
        {
            return "(" + X.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + ", " +
                   Y.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + ")";
        }
    }

    /// <summary>A rectangle with centre, yaw and half extents along its local x (heading) and y axes.</summary>
    public struct OrientedRect
    {
        public Vec2 Centre;
        public double Yaw;
        public Vec2 Half;

        public OrientedRect(Vec2 centre, double yaw, Vec2 half)
        {
            Centre = centre;
            Yaw = yaw;
            Half = half;
        }

        public Vec2 ToLocal(Vec2 p)
        {
            return (p - Centre).Rotate(-Yaw);
        }

        public Vec2[] Corners()
        {
            var local = new[]
            {
                new Vec2(Half.X, Half.Y), new Vec2(-Half.X, Half.Y), new Vec2(-Half.X, -Half.Y), new Vec2(Half.X, -Half.Y),
            };
            var result = new Vec2[4];
            for (var i = 0; i < 4; i++) result[i] = Centre + local[i].Rotate(Yaw);
            return result;
        }

        /// <summary>Distance from <paramref name="p"/> to the rectangle's surface (0 inside).</summary>
        public double Distance(Vec2 p)
        {
            var l = ToLocal(p);
            var dx = Math.Max(Math.Abs(l.X) - Half.X, 0.0);
            var dy = Math.Max(Math.Abs(l.Y) - Half.Y, 0.0);
            return Math.Sqrt(dx * dx + dy * dy);
        }

        /// <summary>Distance between two oriented rectangles (0 where they overlap): apart, the nearest
        /// points include a corner of one of them.</summary>
        public double Gap(OrientedRect other)
        {
            if (Overlaps(other)) return 0;
            var gap = double.MaxValue;
            foreach (var c in Corners()) gap = Math.Min(gap, other.Distance(c));
            foreach (var c in other.Corners()) gap = Math.Min(gap, Distance(c));
            return gap;
        }

        /// <summary>Separating-axis overlap test of two oriented rectangles (touching counts).</summary>
        public bool Overlaps(OrientedRect other)
        {
            var axes = new[] { Vec2.FromAngle(Yaw), Vec2.FromAngle(Yaw + Math.PI / 2),
                Vec2.FromAngle(other.Yaw), Vec2.FromAngle(other.Yaw + Math.PI / 2) };
            var a = Corners();
            var b = other.Corners();
            foreach (var axis in axes)
            {
                double aMin = double.MaxValue, aMax = double.MinValue, bMin = double.MaxValue, bMax = double.MinValue;
                foreach (var c in a)
                {
                    var d = Vec2.Dot(c, axis);
                    aMin = Math.Min(aMin, d);
                    aMax = Math.Max(aMax, d);
                }
                foreach (var c in b)
                {
                    var d = Vec2.Dot(c, axis);
                    bMin = Math.Min(bMin, d);
                    bMax = Math.Max(bMax, d);
                }
                if (aMax < bMin - 1e-9 || bMax < aMin - 1e-9) return false;
            }
            return true;
        }
    }

    /// <summary>
    /// Conversions between Unity's frame and the contract's arena frame. Unity yaw (degrees about +Y)
    /// turns +z towards +x, i.e. clockwise seen from above; the contract's theta is counter-clockwise
    /// from +x in the (x = Unity x, y = Unity z) plane. So heading (sin yaw, cos yaw) = (cos theta, sin theta).
    /// </summary>
    public static class Frames
    {
        const double Deg = Math.PI / 180.0;

        public static double ThetaFromUnityYawDeg(double yawDeg)
        {
            return WrapAngle(Math.PI / 2 - yawDeg * Deg);
        }

        public static double UnityYawDegFromTheta(double theta)
        {
            var deg = (Math.PI / 2 - theta) / Deg;
            deg %= 360.0;
            return deg < 0 ? deg + 360.0 : deg;
        }

        /// <summary>d(theta)/dt from Unity's angular velocity about +Y (rad/s): the sign flips.</summary>
        public static double ThetaRateFromUnity(double angularVelocityY)
        {
            return -angularVelocityY;
        }

        /// <summary>Unity torque about +Y that turns theta counter-clockwise by <paramref name="torque"/>.</summary>
        public static double UnityTorqueY(double torque)
        {
            return -torque;
        }

        /// <summary>Angle in (-pi, pi].</summary>
        public static double WrapAngle(double a)
        {
            a %= 2 * Math.PI;
            if (a > Math.PI) a -= 2 * Math.PI;
            if (a <= -Math.PI) a += 2 * Math.PI;
            return a;
        }
    }
}
