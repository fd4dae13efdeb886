// The hideseek replay viewer: draws recorded episodes (hideseek.replay) with three.js.
// hideseekViewer(THREE, data) is called once three.js is loaded; data is the page's
// "replay-data" JSON (format "hideseek-replay/1", written by hideseek/replay/page.py).
// Arena coordinates (x, y, height z) map to three.js as (x, z, -y): y up, arena +y away from
// the default camera. window.hideseekReplay is the page's small scripting API (tests use it).
"use strict";

function hideseekViewer(THREE, data) {
  const COLORS = {
    ground: 0xc8c8c8, floor: 0xece8dc, wall: 0x464650, box: 0xc8a05a, ramp: 0x78aa5a,
    team: [0x286ee6, 0xdc3c32],        // hiders blue, seekers red (as the GIF renderer)
    locked: [0x6e96eb, 0xeb786e],      // an object locked by that team
    edge: 0x282828,
  };
  const OUTCOMES = { hider: "hiders won", seeker: "seekers won", draw: "a draw" };
  const AGENT_HEIGHT = 0.3;            // drawn height of an agent's cylinder (m)
  const CONE_REACH = 1.2;              // drawn length of a vision cone (vision itself has none)
  const world = data.world;
  const $ = (id) => document.getElementById(id);
  const canvas = $("view");

  // ------------------------------------------------------------------ decoding
  function decode(b64, Type) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }
  const TYPES = { i16: Int16Array, i8: Int8Array, u8: Uint8Array, f32: Float32Array };
  function episodeFrames(ep) {
    const out = {};
    for (const [name, spec] of Object.entries(ep.frames)) {
      out[name] = { values: decode(spec.data, TYPES[spec.dtype]), scale: spec.scale || 1 };
    }
    return out;
  }

  // ------------------------------------------------------------------ renderer, scene, camera
  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  } catch (err) {
    $("message").textContent = "This browser cannot draw WebGL: " + err.message;
    return;
  }
  renderer.setPixelRatio(window.devicePixelRatio || 1);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(COLORS.ground);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8a8a, 1.6));
  const sun = new THREE.DirectionalLight(0xffffff, 1.2);
  sun.position.set(3, 8, 5);
  scene.add(sun);
  const camera = new THREE.PerspectiveCamera(45, 1, 0.05, 200);
  const ORBIT = { radius: world.floor_size * 1.7, theta: 0.5, phi: 0.8 };    // the opening view
  const view = { target: new THREE.Vector3(0, 0, 0), ...ORBIT, mode: "orbit" };

  function placeCamera() {
    const { target, radius, theta, phi } = view;
    camera.position.set(target.x + radius * Math.sin(phi) * Math.sin(theta),
                        target.y + radius * Math.cos(phi),
                        target.z + radius * Math.sin(phi) * Math.cos(theta));
    camera.lookAt(target);
  }

  function setCamera(mode) {
    view.mode = mode;
    view.target.set(0, 0, 0);
    if (mode === "top") {  // straight down, arena +y up on the screen, the walls' tops in view
      const half = world.floor_size / 2 + 0.3;
      const fit = Math.max(1, 1 / Math.max(camera.aspect, 1e-3));
      view.radius = (half * fit) / Math.tan(THREE.MathUtils.degToRad(camera.fov / 2)) + world.wall_height;
      view.theta = 0;
      view.phi = 1e-4;
      // Where the canvas is wider than the arena, move the arena right, clear of the HUD.
      const metresPerPixel = (2 * half * fit) / Math.max(canvas.clientHeight, 1);
      const spare = (canvas.clientWidth * metresPerPixel) / 2 - half;
      const hud = $("hud").getBoundingClientRect().right - canvas.getBoundingClientRect().left;
      view.target.x = -Math.min(Math.max(hud * metresPerPixel + 0.1 - spare, 0), spare);
    } else {
      Object.assign(view, ORBIT);
    }
    $("camera").value = mode;
    placeCamera();
    render();
  }

  function resize() {
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (!w || !h) return;
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    if (view.mode === "top") setCamera("top"); else placeCamera();
    render();
  }

  // Orbit: drag to turn, wheel to zoom, shift- or right-drag to pan.
  let drag = null;
  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, pan: e.shiftKey || e.button === 2 };
    canvas.setPointerCapture(e.pointerId);
    canvas.style.cursor = "grabbing";
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    if (drag.pan) {
      const s = view.radius / canvas.clientHeight;
      const right = new THREE.Vector3().setFromMatrixColumn(camera.matrix, 0);
      const up = new THREE.Vector3().setFromMatrixColumn(camera.matrix, 1);
      view.target.addScaledVector(right, -dx * s).addScaledVector(up, dy * s);
    } else {
      view.theta -= dx * 0.008;
      view.phi = Math.min(Math.max(view.phi - dy * 0.008, 1e-4), Math.PI / 2 - 0.02);
    }
    view.mode = "orbit";
    $("camera").value = "orbit";
    placeCamera();
    render();
  });
  const endDrag = () => { drag = null; canvas.style.cursor = "grab"; };
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    view.radius = Math.min(Math.max(view.radius * Math.exp(e.deltaY * 0.001), 1.5), 60);
    placeCamera();
    render();
  }, { passive: false });

  // ------------------------------------------------------------------ the arena's meshes
  const toScene = (x, y, z) => new THREE.Vector3(x, z, -y);
  const floor = new THREE.Mesh(new THREE.PlaneGeometry(world.floor_size, world.floor_size),
                               new THREE.MeshLambertMaterial({ color: COLORS.floor }));
  floor.rotation.x = -Math.PI / 2;
  scene.add(floor);
  const grid = new THREE.GridHelper(world.floor_size, Math.round(world.floor_size), 0xcfcabb, 0xcfcabb);
  grid.position.y = 0.001;
  scene.add(grid);

  let arena = null;   // meshes of the current episode (walls, objects, agents, overlays)

  function withEdges(mesh) {
    mesh.add(new THREE.LineSegments(new THREE.EdgesGeometry(mesh.geometry),
                                    new THREE.LineBasicMaterial({ color: COLORS.edge })));
    return mesh;
  }

  function rampGeometry(hx, hy) {
    // A wedge rising along local +x from 0 at -hx to ramp_height at +hx (sim/physics.py).
    const shape = new THREE.Shape();
    shape.moveTo(-hx, 0);
    shape.lineTo(hx, 0);
    shape.lineTo(hx, world.ramp_height);
    shape.closePath();
    const g = new THREE.ExtrudeGeometry(shape, { depth: 2 * hy, bevelEnabled: false });
    g.translate(0, 0, -hy);
    return g;
  }

  function buildArena(ep) {
    if (arena) {
      scene.remove(arena.group);
      arena.group.traverse((o) => { if (o.geometry) o.geometry.dispose(); });
    }
    const group = new THREE.Group();
    const wallMat = new THREE.MeshLambertMaterial({ color: COLORS.wall });
    for (const [x1, y1, x2, y2] of ep.walls) {
      const len = Math.hypot(x2 - x1, y2 - y1) + world.wall_thickness;
      const wall = new THREE.Mesh(new THREE.BoxGeometry(len, world.wall_height, world.wall_thickness), wallMat);
      wall.position.copy(toScene((x1 + x2) / 2, (y1 + y2) / 2, world.wall_height / 2));
      wall.rotation.y = Math.atan2(y2 - y1, x2 - x1);
      group.add(wall);
    }
    const objects = ep.objects.kind.map((kind, o) => {
      if (!ep.objects.present[o]) return null;
      const [hx, hy] = ep.objects.half[o];
      const mat = new THREE.MeshLambertMaterial({ color: kind === "ramp" ? COLORS.ramp : COLORS.box });
      let mesh;
      if (kind === "ramp") {
        mesh = withEdges(new THREE.Mesh(rampGeometry(hx, hy), mat));
      } else {
        mesh = withEdges(new THREE.Mesh(new THREE.BoxGeometry(2 * hx, world.box_size, 2 * hy), mat));
        mesh.geometry.translate(0, world.box_size / 2, 0);
      }
      group.add(mesh);
      return { mesh, kind, mat };
    });
    const half = THREE.MathUtils.degToRad(world.vision_cone_deg) / 2;
    const agents = ep.agents.team.map((team, a) => {
      if (!ep.agents.present[a]) return null;
      const body = new THREE.Group();
      const r = world.agent_radius;
      const cylinder = new THREE.Mesh(new THREE.CylinderGeometry(r, r, AGENT_HEIGHT, 24),
                                      new THREE.MeshLambertMaterial({ color: COLORS.team[team] }));
      cylinder.position.y = AGENT_HEIGHT / 2;
      body.add(cylinder);
      // The heading: a dark marker on the rim, clear of the top's centre.
      const nose = new THREE.Mesh(new THREE.BoxGeometry(0.5 * r, 0.05, 0.3 * r),
                                  new THREE.MeshLambertMaterial({ color: 0x111111 }));
      nose.position.set(0.7 * r, AGENT_HEIGHT + 0.02, 0);
      body.add(nose);
      const coneGeom = new THREE.CircleGeometry(CONE_REACH, 24, -half, 2 * half);
      coneGeom.rotateX(-Math.PI / 2);
      const cone = new THREE.Mesh(coneGeom, new THREE.MeshBasicMaterial({
        color: COLORS.team[team], transparent: true, opacity: 0.16, depthWrite: false,
        side: THREE.DoubleSide }));
      cone.position.y = 0.01;
      body.add(cone);
      const ring = new THREE.Mesh(new THREE.RingGeometry(1.35 * r, 1.75 * r, 32),
                                  new THREE.MeshBasicMaterial({ color: COLORS.team[1], side: THREE.DoubleSide }));
      ring.rotation.x = -Math.PI / 2;
      ring.position.y = 0.012;
      ring.visible = false;
      group.add(ring);
      group.add(body);
      return { body, cone, ring, team };
    });
    const lines = new THREE.LineSegments(new THREE.BufferGeometry(),
                                         new THREE.LineBasicMaterial({ vertexColors: true }));
    const maxSegments = agents.length * agents.length + objects.length;
    lines.geometry.setAttribute("position", new THREE.BufferAttribute(new Float32Array(maxSegments * 6), 3));
    lines.geometry.setAttribute("color", new THREE.BufferAttribute(new Float32Array(maxSegments * 6), 3));
    group.add(lines);
    scene.add(group);
    arena = { group, objects, agents, lines };
  }

  // ------------------------------------------------------------------ state per frame
  const episodes = data.episodes.map((ep) => ({ ...ep, f: episodeFrames(ep) }));
  const state = { episode: 0, frame: 0, playing: false, speed: 1 };
  const teamColor = [new THREE.Color(COLORS.team[0]), new THREE.Color(COLORS.team[1])];

  function value(field, index) {
    return field.values[index] * field.scale;
  }

  function angleLerp(a, b, u) {
    let d = b - a;
    while (d > Math.PI) d -= 2 * Math.PI;
    while (d < -Math.PI) d += 2 * Math.PI;
    return a + d * u;
  }

  // The pose of agent or object i at fractional frame t (positions and yaws interpolated).
  function pose(xy, yaw, z, count, i, t, steps) {
    const a = Math.floor(t), b = Math.min(a + 1, steps - 1), u = t - a;
    const at = (f) => [value(xy, (f * count + i) * 2), value(xy, (f * count + i) * 2 + 1),
                       z ? value(z, f * count + i) : 0, value(yaw, f * count + i)];
    const p = at(a), q = at(b);
    return [p[0] + (q[0] - p[0]) * u, p[1] + (q[1] - p[1]) * u, p[2] + (q[2] - p[2]) * u,
            angleLerp(p[3], q[3], u)];
  }

  function show(t) {
    const ep = episodes[state.episode], f = ep.f, steps = ep.steps;
    const frame = Math.min(Math.floor(t), steps - 1);
    const nA = ep.agents.team.length, nO = ep.objects.kind.length;
    const agentPos = [];
    arena.agents.forEach((agent, a) => {
      if (!agent) return;
      const [x, y, z, yaw] = pose(f.agent_xy, f.agent_yaw, f.agent_z, nA, a, t, steps);
      agent.body.position.copy(toScene(x, y, z));
      agent.body.rotation.y = yaw;
      agent.cone.visible = $("show-cones").checked;
      agentPos[a] = [x, y, z];
    });
    const pos = overlayLines();
    arena.objects.forEach((obj, o) => {
      if (!obj) return;
      const [x, y, , yaw] = pose(f.obj_xy, f.obj_yaw, null, nO, o, t, steps);
      obj.mesh.position.copy(toScene(x, y, 0));
      obj.mesh.rotation.y = yaw;
      const locked = f.locked.values[frame * nO + o], holder = f.held_by.values[frame * nO + o];
      const base = new THREE.Color(obj.kind === "ramp" ? COLORS.ramp : COLORS.box);
      if (locked >= 0) base.set(COLORS.locked[locked]);
      if (holder >= 0 && agentPos[holder]) {
        const team = ep.agents.team[holder];
        base.lerp(teamColor[team], 0.55);
        const h = agentPos[holder];
        pos.add(toScene(h[0], h[1], h[2] + 0.15), toScene(x, y, world.box_size * 0.5), teamColor[team]);
      }
      obj.mat.color.copy(base);
    });
    // Who sees whom: a line from each agent to every agent of the other team it sees, in the
    // viewer's colour; a hider seen by a seeker gets a red ring.
    const sight = $("show-sight").checked;
    arena.agents.forEach((agent) => { if (agent) agent.ring.visible = false; });
    for (let i = 0; i < nA; i++) {
      for (let j = 0; j < nA; j++) {
        if (!arena.agents[i] || !arena.agents[j] || !f.sees.values[(frame * nA + i) * nA + j]) continue;
        const ti = ep.agents.team[i], tj = ep.agents.team[j];
        if (ti === tj) continue;
        if (ti === 1 && tj === 0) {
          const ring = arena.agents[j].ring;
          ring.visible = true;
          ring.position.x = agentPos[j][0];
          ring.position.z = -agentPos[j][1];
          ring.position.y = agentPos[j][2] + 0.012;
        }
        if (sight) {
          const p = agentPos[i], q = agentPos[j];
          pos.add(toScene(p[0], p[1], p[2] + 0.22), toScene(q[0], q[1], q[2] + 0.22), teamColor[ti]);
        }
      }
    }
    pos.end();
    hud(ep, frame);
    render();
  }

  function overlayLines() {
    const g = arena.lines.geometry;
    const p = g.attributes.position.array, c = g.attributes.color.array;
    let n = 0;
    return {
      add(a, b, color) {
        if ((n + 1) * 6 > p.length) return;
        p.set([a.x, a.y, a.z, b.x, b.y, b.z], n * 6);
        c.set([color.r, color.g, color.b, color.r, color.g, color.b], n * 6);
        n++;
      },
      end() {
        g.setDrawRange(0, n * 2);
        g.attributes.position.needsUpdate = true;
        g.attributes.color.needsUpdate = true;
        g.computeBoundingSphere();
      },
    };
  }

  // ------------------------------------------------------------------ HUD and controls
  function teamReward(ep, step, team) {
    // Step `step`'s reward of a team: every member gets the team's reward (plus its own
    // out-of-bounds penalty), so the team's is its members' mean.
    const nA = ep.agents.team.length;
    let sum = 0, count = 0;
    for (let a = 0; a < nA; a++) {
      if (ep.agents.present[a] && ep.agents.team[a] === team) {
        sum += value(ep.f.reward, step * nA + a);
        count++;
      }
    }
    return count ? sum / count : 0;
  }

  const fmt = (v) => (v > 0 ? "+" : v < 0 ? "\u2212" : "") + Math.abs(v).toFixed(Number.isInteger(v) ? 0 : 1);

  // Frame t shows the world after step t - 1, so it shows that step's reward (decided by who
  // sees whom in this frame): "prep" while the rules give no reward, else hidden or seen.
  function rewardKind(ep, frame) {
    if (frame < 1) return "none";
    const s = frame - 1;
    if (teamReward(ep, s, 0) === 0 && teamReward(ep, s, 1) === 0) return "prep";
    return ep.f.hidden.values[s] ? "hidden" : "seen";
  }

  function hud(ep, frame) {
    const prepLeft = world.prep_steps - frame;
    const phase = $("hud-phase");
    if (prepLeft > 0) {
      phase.textContent = `preparation: ${prepLeft} step${prepLeft === 1 ? "" : "s"} left ` +
                          `(${(prepLeft * world.dt).toFixed(1)} s); seekers wait`;
      phase.className = "phase prep";
    } else {
      phase.textContent = "hiding phase";
      phase.className = "phase hide";
    }
    const kind = rewardKind(ep, frame);
    const note = { none: "", prep: " (no rewards in preparation)", hidden: " (hiders hidden)",
                   seen: " (a seeker sees a hider)" }[kind];
    $("hud-reward").textContent = frame < 1 ? "reward: none yet" :
      `reward: hiders ${fmt(teamReward(ep, frame - 1, 0))}, seekers ${fmt(teamReward(ep, frame - 1, 1))}${note}`;
    let ret = 0;
    for (let s = 0; s < frame; s++) ret += teamReward(ep, s, 0);
    $("hud-return").textContent = `hider return so far ${fmt(ret)} (episode ` +
      `${fmt(ep.stats.hider_return)}; hidden ${(100 * ep.stats.hidden_fraction).toFixed(0)}% of the hiding phase)`;
    $("step-label").textContent = `step ${frame} / ${ep.steps - 1}`;
    $("timeline").value = String(frame);
  }

  function drawStrip() {
    const ep = episodes[state.episode], strip = $("strip");
    const w = strip.clientWidth || 300, h = strip.clientHeight || 8;
    strip.width = w;
    strip.height = h;
    const ctx = strip.getContext("2d");
    const fill = { none: "#b4b4b4", prep: "#b4b4b4", hidden: "#286ee6", seen: "#dc3c32" };
    for (let t = 0; t < ep.steps; t++) {
      ctx.fillStyle = fill[rewardKind(ep, t)];
      ctx.fillRect(Math.floor((t * w) / ep.steps), 0, Math.ceil(w / ep.steps), h);
    }
  }

  function selectEpisode(i) {
    state.episode = Math.max(0, Math.min(i, episodes.length - 1));
    const ep = episodes[state.episode];
    buildArena(ep);
    $("episode").value = String(state.episode);
    $("timeline").max = String(ep.steps - 1);
    $("hud-episode").textContent = `episode ${ep.index} \u00b7 seed ${ep.seed} \u00b7 ${OUTCOMES[ep.outcome] || ""}`;
    $("hud-reproduce").textContent = data.reproduce ? data.reproduce.replace("{seed}", ep.seed) : "";
    $("hud-again").style.display = data.reproduce ? "" : "none";
    drawStrip();
    state.frame = 0;
    show(0);
  }

  function setFrame(t) {
    const ep = episodes[state.episode];
    state.frame = Math.max(0, Math.min(t, ep.steps - 1));
    show(state.frame);
  }

  function setPlaying(on) {
    state.playing = on;
    $("play").innerHTML = on ? "&#10074;&#10074;" : "&#9654;";
    last = null;
  }

  function render() {
    renderer.render(scene, camera);
  }

  let last = null;
  function tick(now) {
    if (state.playing) {
      const ep = episodes[state.episode];
      if (last !== null) {
        state.frame += ((now - last) / 1000) * state.speed / world.dt;
        if (state.frame >= ep.steps - 1) {
          state.frame = ep.steps - 1;
          setPlaying(false);
        }
        show(state.frame);
      }
      last = now;
    }
    requestAnimationFrame(tick);
  }

  $("hud-title").textContent = data.title;
  $("hud-teams").textContent = `hiders: ${data.teams.hider} \u00b7 seekers: ${data.teams.seeker}`;
  $("legend").innerHTML =
    `<span class="swatch" style="background:#286ee6"></span>hider ` +
    `<span class="swatch" style="background:#dc3c32"></span>seeker ` +
    `<span class="swatch" style="background:#6e96eb"></span><span class="swatch" style="background:#eb786e"></span>locked; ` +
    `held: the holder's colour; red ring: seen by a seeker`;
  const select = $("episode");
  episodes.forEach((ep, i) => {
    const opt = document.createElement("option");
    opt.value = String(i);
    opt.textContent = `${ep.index}: seed ${ep.seed}, ${OUTCOMES[ep.outcome] || "?"}`;
    select.appendChild(opt);
  });
  select.addEventListener("change", () => { setPlaying(false); selectEpisode(Number(select.value)); });
  $("timeline").addEventListener("input", (e) => { setPlaying(false); setFrame(Number(e.target.value)); });
  $("strip").addEventListener("click", (e) => {
    const rect = e.target.getBoundingClientRect();
    setPlaying(false);
    setFrame(Math.floor(((e.clientX - rect.left) / rect.width) * episodes[state.episode].steps));
  });
  $("play").addEventListener("click", () => {
    if (!state.playing && state.frame >= episodes[state.episode].steps - 1) setFrame(0);
    setPlaying(!state.playing);
  });
  $("prev").addEventListener("click", () => { setPlaying(false); setFrame(Math.round(state.frame) - 1); });
  $("next").addEventListener("click", () => { setPlaying(false); setFrame(Math.round(state.frame) + 1); });
  $("speed").addEventListener("change", (e) => { state.speed = Number(e.target.value); });
  $("camera").addEventListener("change", (e) => setCamera(e.target.value));
  $("show-cones").addEventListener("change", () => show(state.frame));
  $("show-sight").addEventListener("change", () => show(state.frame));
  window.addEventListener("keydown", (e) => {
    // A focused list or timeline handles its own keys (the timeline steps by itself).
    if (e.target.tagName === "SELECT" || e.target.type === "range") return;
    if (e.key === " ") { e.preventDefault(); $("play").click(); }
    else if (e.key === "ArrowLeft") $("prev").click();
    else if (e.key === "ArrowRight") $("next").click();
  });
  window.addEventListener("resize", () => { resize(); drawStrip(); });

  $("message").style.display = "none";
  resize();
  setCamera("orbit");
  selectEpisode(0);
  requestAnimationFrame(tick);

  window.hideseekReplay = {
    ready: true,
    episodes: episodes.length,
    agentHeight: AGENT_HEIGHT,
    setEpisode: (i) => { setPlaying(false); selectEpisode(i); },
    setFrame: (t) => { setPlaying(false); setFrame(t); },
    setCamera,
    play: () => setPlaying(true),
    pause: () => setPlaying(false),
    state: () => ({ episode: state.episode, frame: state.frame, playing: state.playing }),
    // CSS pixel (page coordinates) where the arena point (x, y, z) is drawn.
    project: (x, y, z) => {
      const v = toScene(x, y, z).project(camera), rect = canvas.getBoundingClientRect();
      return [rect.left + ((v.x + 1) / 2) * rect.width, rect.top + ((1 - v.y) / 2) * rect.height];
    },
  };
}
