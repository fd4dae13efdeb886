using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>
    /// A straight wall of thickness <c>wall_thickness</c> along its centre line A -> B (arena frame).
    /// A wall slot that is not used this episode (a room that was not built, or the piece a closed
    /// door merged away) is not <see cref="Present"/>; the twin parks it far away instead.
    /// </summary>
    public struct WallSegment
    {
        public Vec2 A;
        public Vec2 B;
        public bool Present;

        public WallSegment(Vec2 a, Vec2 b)
        {
            A = a;
            B = b;
            Present = true;
        }

        public Vec2 Centre { get { return (A + B) * 0.5; } }
        public double Length { get { return (B - A).Length; } }
        /// <summary>Direction of A -> B as an angle (counter-clockwise from +x).</summary>
        public double Angle { get { return Math.Atan2(B.Y - A.Y, B.X - A.X); } }
    }

    public struct Spawn
    {
        public bool Present;
        public Vec2 Pos;
        public double Theta;
        /// <summary>Boxes only: the 0.5 x 1.5 m variant.</summary>
        public bool Elongated;
    }

    /// <summary>A door of the episode: the centre of its gap and the direction of the wall it is cut into.</summary>
    public struct Door
    {
        public Vec2 Centre;
        public Vec2 Along;

        public Door(Vec2 centre, Vec2 along)
        {
            Centre = centre;
            Along = along;
        }
    }

    /// <summary>One episode's arena: wall slots, open doors and where every slot starts.</summary>
    public sealed class ArenaLayout
    {
        /// <summary>Exactly <see cref="LayoutGenerator.MaxWalls"/> slots in the twin's order: the 4 outer walls, then the inner pieces.</summary>
        public readonly List<WallSegment> Walls = new List<WallSegment>();
        /// <summary>The doors that exist this episode, in the twin's slot order.</summary>
        public readonly List<Door> Doors = new List<Door>();
        public Spawn[] Agents;
        public Spawn[] Boxes;
        public Spawn[] Ramps;
    }

    /// <summary>
    /// Builds episode layouts with the WORLD.md rules, as a line-by-line port of the twin's
    /// <c>sim/layouts.py</c> on the same random numbers (<see cref="LayoutRng"/>): the same
    /// (seed, episode) gives Unity and the twin the same walls, doors, counts, spawn points and
    /// headings (tests/test_unity_parity.py compares them). Spawn points are distinct cells of a
    /// ~0.6 m grid plus a small jitter, chosen greedily by a random score.
    /// </summary>
    public static class LayoutGenerator
    {
        public const double Cell = 0.6;
        // Directions of the walls doors are cut into (the twin's layouts.door_along).
        static readonly Vec2 AlongX = new Vec2(1, 0);
        static readonly Vec2 AlongY = new Vec2(0, 1);

        /// <summary>Wall slots (as <c>WorldConfig.max_walls</c>): 4 outer walls plus the inner pieces (quadrant 2 x 2; random_rooms 3 + 2 + 2).</summary>
        public static int MaxWalls(WorldParams w)
        {
            return w.Scenario == WorldParams.Quadrant ? 8 : 11;
        }

        /// <summary>Cells per side of the spawn grid: <c>max(int(floor_size // CELL), 2)</c>.</summary>
        public static int CellsPerSide(WorldParams w)
        {
            return Math.Max((int)PythonFloorDiv(w.FloorSize, Cell), 2);
        }

        /// <summary>Python's float <c>a // b</c> (CPython's float_floor_div), which can differ from floor(a / b).</summary>
        static double PythonFloorDiv(double a, double b)
        {
            var mod = a % b;
            var div = (a - mod) / b;
            if (mod != 0 && (b < 0) != (mod < 0)) div -= 1.0;
            if (div == 0) return 0.0;
            var floor = Math.Floor(div);
            return div - floor > 0.5 ? floor + 1.0 : floor;
        }

        /// <summary>The layout of episode <paramref name="episode"/> of the arena seeded <paramref name="seed"/>.</summary>
        public static ArenaLayout Generate(WorldParams w, long seed, long episode)
        {
            var rng = new LayoutRng(seed, episode);
            var layout = new ArenaLayout();
            var half = w.FloorSize / 2;
            var perSide = CellsPerSide(w);
            var cell = w.FloorSize / perSide;
            var cells = new Vec2[perSide * perSide];
            // Cell centres rounded to float32, as the twin holds them.
            var ticks = new double[perSide];
            for (var i = 0; i < perSide; i++) ticks[i] = (float)((float)((float)cell * (float)(i + 0.5)) + (float)-half);
            for (var iy = 0; iy < perSide; iy++)
                for (var ix = 0; ix < perSide; ix++)
                    cells[iy * perSide + ix] = new Vec2(ticks[ix], ticks[iy]);

            OuterWalls(w, layout);
            if (w.Scenario == WorldParams.Quadrant) QuadrantWalls(w, rng, layout);
            else RandomRoomsWalls(w, rng, layout, cell, perSide);

            var clearance = new double[cells.Length];
            for (var c = 0; c < cells.Length; c++) clearance[c] = Clearance(layout, cells[c]);
            var boxOk = new bool[cells.Length];
            var rampOk = new bool[cells.Length];
            var hiderOk = new bool[cells.Length];
            var seekerOk = new bool[cells.Length];
            if (w.Scenario == WorldParams.Quadrant)
            {
                var x0 = half - w.RoomSize;
                for (var c = 0; c < cells.Length; c++)
                {
                    var inRoom = cells[c].X > x0 && cells[c].Y > x0;
                    boxOk[c] = inRoom && clearance[c] >= 0.45;
                    seekerOk[c] = !inRoom;
                    hiderOk[c] = true;
                }
            }
            else
            {
                var anchors = rng.Integers(new[] { 0, 0 }, new[] { cells.Length - 1, cells.Length - 1 });
                for (var c = 0; c < cells.Length; c++)
                {
                    boxOk[c] = clearance[c] >= 0.45;
                    hiderOk[c] = WithinFloat32(cells[c], cells[anchors[0]], w.TeamSpawnRadius);
                    seekerOk[c] = WithinFloat32(cells[c], cells[anchors[1]], w.TeamSpawnRadius);
                }
            }
            for (var c = 0; c < cells.Length; c++) rampOk[c] = clearance[c] >= 0.6;

            int nHiders = w.MaxHiders, nSeekers = w.MaxSeekers, nBoxes = w.MaxBoxes, nRamps = w.MaxRamps;
            int nAgents = nHiders + nSeekers, nObj = nBoxes + nRamps;
            var hidersPresent = rng.Integer(w.NHiders.Min, w.NHiders.Max);
            var seekersPresent = rng.Integer(w.NSeekers.Min, w.NSeekers.Max);
            var boxesPresent = rng.Integer(w.NBoxes.Min, w.NBoxes.Max);
            var rampsPresent = rng.Integer(w.NRamps.Min, w.NRamps.Max);
            var nElongated = Math.Min(rng.Integer(w.NElongatedBoxes.Min, w.NElongatedBoxes.Max), boxesPresent);

            // Greedy distinct-cell assignment, biggest things first; absent slots take a cell too,
            // as in the twin, so that the present ones land where the twin puts them.
            var slots = nAgents + nObj;
            var scores = rng.Uniform(slots * cells.Length);
            var jitter = rng.Uniform(slots * 2);
            var yaws = rng.Uniform(slots);
            var used = new bool[cells.Length];
            Func<int, bool[], double, Vec2> place = (slot, allowed, block) =>
            {
                var best = 0;
                var bestScore = double.NegativeInfinity;
                for (var c = 0; c < cells.Length; c++)
                {
                    // Disallowed or used cells stay possible as a last resort (score - 2); ties go to the lowest cell.
                    double score = scores[slot * cells.Length + c];
                    if (!(allowed[c] && !used[c])) score = (float)(score - 2.0);
                    if (score > bestScore)
                    {
                        bestScore = score;
                        best = c;
                    }
                }
                for (var c = 0; c < cells.Length; c++)
                    if ((cells[c] - cells[best]).Length <= block + 1e-3) used[c] = true;
                var j = new Vec2((jitter[2 * slot] - 0.5) * 0.1, (jitter[2 * slot + 1] - 0.5) * 0.1);
                return cells[best] + j;
            };
            Func<int, double> yaw = slot => Frames.WrapAngle(yaws[slot] * (2 * Math.PI));

            // Boxes first, so that their cells (the room's, in the quadrant) are theirs; a ramp keeps 0.9 m from every box.
            layout.Boxes = new Spawn[nBoxes];
            for (var b = 0; b < nBoxes; b++)
            {
                var slot = nAgents + b;
                var elongated = b < nElongated;
                layout.Boxes[b] = new Spawn
                {
                    Present = b < boxesPresent, Pos = place(slot, boxOk, elongated ? 0.9 : cell + 1e-3),
                    Theta = yaw(slot), Elongated = elongated,
                };
            }
            for (var c = 0; c < cells.Length; c++)
                foreach (var box in layout.Boxes)
                    if ((float)(cells[c] - box.Pos).Length < 0.9f) rampOk[c] = false;
            layout.Ramps = new Spawn[nRamps];
            for (var r = 0; r < nRamps; r++)
            {
                var slot = nAgents + nBoxes + r;
                layout.Ramps[r] = new Spawn { Present = r < rampsPresent, Pos = place(slot, rampOk, 0.9), Theta = yaw(slot) };
            }
            layout.Agents = new Spawn[nAgents];
            for (var a = 0; a < nAgents; a++)
            {
                var hider = a < nHiders;
                layout.Agents[a] = new Spawn
                {
                    Present = hider ? a < hidersPresent : a - nHiders < seekersPresent,
                    Pos = place(a, hider ? hiderOk : seekerOk, 0.0), Theta = yaw(a),
                };
            }
            return layout;
        }

        /// <summary>
        /// |a - b| &lt;= radius as the twin evaluates it, in float32: the default spawn radius (1.2 m)
        /// is exactly two cells, so the cells two apart sit on the boundary and the rounding decides.
        /// </summary>
        static bool WithinFloat32(Vec2 a, Vec2 b, double radius)
        {
            var dx = (float)a.X - (float)b.X;
            var dy = (float)a.Y - (float)b.Y;
            return (float)Math.Sqrt((double)dx * dx + (double)dy * dy) <= (float)radius;
        }

        /// <summary>Distance from a point to the nearest present wall's centre line.</summary>
        public static double Clearance(ArenaLayout layout, Vec2 p)
        {
            var best = double.MaxValue;
            foreach (var wall in layout.Walls)
                if (wall.Present) best = Math.Min(best, PointSegmentDistance(p, wall.A, wall.B));
            return best;
        }

        public static double PointSegmentDistance(Vec2 p, Vec2 a, Vec2 b)
        {
            var ab = b - a;
            var len2 = Vec2.Dot(ab, ab);
            var t = len2 > 1e-12 ? Math.Min(Math.Max(Vec2.Dot(p - a, ab) / len2, 0.0), 1.0) : 0.0;
            return (p - (a + ab * t)).Length;
        }

        /// <summary>The 4 outer wall slots, centre lines just outside the floor, overlapping at the corners.</summary>
        static void OuterWalls(WorldParams w, ArenaLayout layout)
        {
            var h = w.FloorSize / 2 + w.WallThickness / 2;
            var e = h + w.WallThickness / 2;
            layout.Walls.Add(new WallSegment(new Vec2(-e, -h), new Vec2(e, -h)));
            layout.Walls.Add(new WallSegment(new Vec2(e, h), new Vec2(-e, h)));
            layout.Walls.Add(new WallSegment(new Vec2(-h, -e), new Vec2(-h, e)));
            layout.Walls.Add(new WallSegment(new Vec2(h, e), new Vec2(h, -e)));
        }

        /// <summary>
        /// Splits the wall A -> B at door centres (fractions along it, sorted) into fractions.Length + 1
        /// slots. A closed door leaves its gap shut: the piece before it is not present and the next
        /// piece starts where it would have (the twin's <c>_wall_with_doors</c>). A wall that is not
        /// built at all (<paramref name="built"/> false) fills its slots with absent pieces.
        /// </summary>
        static void WallWithDoors(ArenaLayout layout, Vec2 a, Vec2 b, double[] fractions, bool[] open, double width, bool built)
        {
            var length = (b - a).Length;
            var dir = (b - a) * (1.0 / length);
            var cursor = a;
            for (var i = 0; i < fractions.Length; i++)
            {
                var centre = a + dir * (fractions[i] * length);
                layout.Walls.Add(open[i] && built ? new WallSegment(cursor, centre - dir * (width / 2)) : new WallSegment());
                if (open[i]) cursor = centre + dir * (width / 2);
            }
            layout.Walls.Add(built ? new WallSegment(cursor, b) : new WallSegment());
        }

        static void QuadrantWalls(WorldParams w, LayoutRng rng, ArenaLayout layout)
        {
            var half = w.FloorSize / 2;
            var t = w.WallThickness;
            var room = w.RoomSize;
            var x0 = half - room;
            var margin = (w.DoorWidth / 2 + t) / room;
            var u = rng.Uniform(4);
            var frac = new[] { margin + u[0] * (1 - 2 * margin), margin + u[1] * (1 - 2 * margin) };
            // The twin compares float32 draws with the probability as a float32.
            var p = (float)w.DoorRemovalProb;
            var removed = new[] { u[2] < p, u[3] < p };
            if (removed[0] && removed[1])
            {
                // Both would go: keep the door whose draw was the larger ("less removed").
                var keepFirst = u[2] >= u[3];
                removed[0] = !keepFirst;
                removed[1] = keepFirst;
            }
            WallWithDoors(layout, new Vec2(x0, x0 - t / 2), new Vec2(x0, half), new[] { frac[0] }, new[] { !removed[0] }, w.DoorWidth, true);
            WallWithDoors(layout, new Vec2(x0 - t / 2, x0), new Vec2(half, x0), new[] { frac[1] }, new[] { !removed[1] }, w.DoorWidth, true);
            // Door centres: the middle of the gap WallWithDoors cut, at the fraction along the wall
            // (which starts half a wall thickness before the corner).
            if (!removed[0]) layout.Doors.Add(new Door(new Vec2(x0, x0 - t / 2 + frac[0] * (room + t / 2)), AlongY));
            if (!removed[1]) layout.Doors.Add(new Door(new Vec2(x0 - t / 2 + frac[1] * (room + t / 2), x0), AlongX));
        }

        /// <summary>
        /// 1-4 rooms: a vertical wall (two doors) splits the floor; horizontal walls (one door each)
        /// split the left, then the right part. Walls lie on cell borders, doors on cell centres.
        /// </summary>
        static void RandomRoomsWalls(WorldParams w, LayoutRng rng, ArenaLayout layout, double cell, int perSide)
        {
            var half = w.FloorSize / 2;
            var t = w.WallThickness;
            var rooms = rng.Integer(w.NRooms.Min, w.NRooms.Max);
            int lo = perSide / 2 - 2, hi = perSide / 2 + 2, mid = perSide / 2;
            var col = rng.Integer(lo, hi);
            var rowL = rng.Integer(lo, hi);
            var rowR = rng.Integer(lo, hi);
            var xw = -half + cell * col;
            var yl = -half + cell * rowL;
            var yr = -half + cell * rowR;
            var dLow = rng.Integer(1, mid - 1);
            var dHigh = rng.Integer(mid, perSide - 2);
            var dLeft = rng.Integer(0, col - 1);
            var dRight = rng.Integer(col, perSide - 1);
            Func<int, double> centre = idx => -half + cell * (idx + 0.5);
            var full = 2 * half + t;
            bool hasV = rooms >= 2, hasL = rooms >= 3, hasR = rooms >= 4;

            WallWithDoors(layout, new Vec2(xw, -half - t / 2), new Vec2(xw, half + t / 2),
                new[] { (centre(dLow) + half + t / 2) / full, (centre(dHigh) + half + t / 2) / full },
                new[] { true, true }, w.DoorWidth, hasV);
            var lStart = new Vec2(-half - t / 2, yl);
            WallWithDoors(layout, lStart, new Vec2(xw, yl), new[] { (centre(dLeft) - lStart.X) / (xw - lStart.X) },
                new[] { true }, w.DoorWidth, hasL);
            var rStart = new Vec2(xw, yr);
            var rEnd = new Vec2(half + t / 2, yr);
            WallWithDoors(layout, rStart, rEnd, new[] { (centre(dRight) - rStart.X) / (rEnd.X - rStart.X) },
                new[] { true }, w.DoorWidth, hasR);
            if (hasV)
            {
                layout.Doors.Add(new Door(new Vec2(xw, centre(dLow)), AlongY));
                layout.Doors.Add(new Door(new Vec2(xw, centre(dHigh)), AlongY));
            }
            if (hasL) layout.Doors.Add(new Door(new Vec2(centre(dLeft), yl), AlongX));
            if (hasR) layout.Doors.Add(new Door(new Vec2(centre(dRight), yr), AlongX));
        }
    }
}
