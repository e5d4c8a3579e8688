// activityd's page: live skeletons, activities, timelines, events, TUG results and health
// per camera, and the clinician's Timed Up and Go trials. Plain JS, no dependencies; every
// picture is drawn from landmarks as SVG (the daemon never sends video).
'use strict';
(function () {
  // The palette of `annotate --timeline` (src/offline/timeline.rs).
  var COLOURS = {
    walk_toward: '#1f77b4', walk_away: '#17becf', walk_across: '#9edae5', turn: '#ff7f0e',
    sit_down: '#d62728', stand_up: '#2ca02c', still: '#c7c7c7', sitting: '#7f7f7f',
    other: '#8c564b'
  };
  var OTHER_COLOUR = '#9467bd';
  // BlazePose connections: face, torso, arms, hands, legs, feet.
  var BONES = [
    [0, 1], [1, 2], [2, 3], [3, 7], [0, 4], [4, 5], [5, 6], [6, 8], [9, 10],
    [11, 12], [11, 23], [12, 24], [23, 24],
    [11, 13], [13, 15], [12, 14], [14, 16],
    [15, 17], [15, 19], [15, 21], [17, 19], [16, 18], [16, 20], [16, 22], [18, 20],
    [23, 25], [25, 27], [24, 26], [26, 28],
    [27, 29], [29, 31], [27, 31], [28, 30], [30, 32], [28, 32]
  ];
  var MIN_VISIBILITY = 0.3;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var TOKEN_KEY = 'activityd.token';
  var MAX_EVENTS = 20;
  var KEEP_S = 900; // segments kept (s of camera time); the widest timeline window is 10 min
  var PHASE_NAMES = {
    sit_to_stand: 'sit to stand', walk_out: 'walk out', turn: 'turn', walk_back: 'walk back',
    turn_to_sit: 'turn to sit', sit_down: 'sit down'
  };

  var path = location.pathname.match(/^\/cameras\/([^/]+)\/?$/);
  var S = {
    single: path ? safeDecode(path[1]) : null,
    cameras: new Map(),
    classes: [],
    token: load(TOKEN_KEY),
    tokenRefused: false,
    ws: null,
    backoff: 1000,
    reconnectTimer: null,
    windowS: 300,
    trials: [],
    trialsTimer: null
  };

  // ---- small helpers --------------------------------------------------------------------

  function safeDecode(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }
  function load(k) { try { return sessionStorage.getItem(k) || ''; } catch (e) { return ''; } }
  function save(k, v) { try { if (v) { sessionStorage.setItem(k, v); } else { sessionStorage.removeItem(k); } } catch (e) { /* private mode */ } }
  function $(id) { return document.getElementById(id); }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function fmt(v, digits, unit) {
    v = num(v);
    if (v === null) { return '—'; }
    return v.toFixed(digits) + (unit ? '\u202f' + unit : '');
  }
  function pct(v) { v = num(v); return v === null ? '—' : Math.round(v * 100) + '\u202f%'; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    return e;
  }
  function colour(a) { return COLOURS[a] || OTHER_COLOUR; }
  function arr(v) { return Array.isArray(v) ? v : []; }
  function clock(ts) {
    ts = num(ts);
    if (ts === null) { return ''; }
    // Unix seconds (wall clock) or camera seconds.
    if (ts > 1e8) { return new Date(ts * 1000).toLocaleTimeString(); }
    return camTime(ts);
  }
  function camTime(t) {
    t = num(t);
    if (t === null) { return '—'; }
    var m = Math.floor(t / 60), s = t - m * 60;
    return m + ':' + (s < 10 ? '0' : '') + s.toFixed(1);
  }

  function ApiError(status, code, message) {
    this.status = status; this.code = code; this.message = message;
  }

  // fetch with the token; a 401 asks for the token and rejects.
  function api(method, url, body) {
    var headers = { Accept: 'application/json' };
    var used = S.token;
    if (used) { headers.Authorization = 'Bearer ' + used; }
    var init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (r.ok) { return data; }
        var err = (data && data.error) || {};
        // Ask only if the token refused is still the one in use (not one typed since).
        if (r.status === 401 && used === S.token) { askToken(); }
        throw new ApiError(r.status, err.code || 'http_' + r.status, err.message || r.statusText);
      });
    });
  }

  // ---- token --------------------------------------------------------------------------

  function askToken() {
    var form = $('token-form');
    var refused = !!S.token || S.tokenRefused;
    if (S.token) { S.token = ''; save(TOKEN_KEY, ''); }
    S.tokenRefused = refused;
    $('token-error').hidden = !refused;
    if (form.hidden) {
      form.hidden = false;
      $('token-input').value = '';
      $('token-input').focus();
    }
    setConn('locked', 'token needed');
  }

  $('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var v = $('token-input').value.trim();
    if (!v) { return; }
    S.token = v;
    save(TOKEN_KEY, v);
    $('token-form').hidden = true;
    $('token-error').hidden = true;
    connect();
    if (!$('tug-view').hidden) { refreshTrials(); }
  });

  // ---- connection status ----------------------------------------------------------------

  function setConn(state, text) {
    var c = $('conn');
    c.dataset.state = state;
    c.textContent = text || state;
  }

  // ---- cameras --------------------------------------------------------------------------

  function camera(id) {
    if (typeof id !== 'string' || !id) { return null; }
    if (S.single !== null && id !== S.single) { return null; }
    var cam = S.cameras.get(id);
    if (cam) { return cam; }
    cam = {
      id: id, width: 640, height: 480, t: null, updates: 0, activity: null,
      segments: new Map(), current: null, events: [], seen: new Set(), tugs: [],
      lastFrame: 0, health: null
    };
    buildCard(cam);
    S.cameras.set(id, cam);
    $('cameras-empty').hidden = true;
    fillCameraSelect();
    return cam;
  }

  function buildCard(cam) {
    var card = el('article', 'camera' + (S.single !== null ? ' large' : ''));
    card.dataset.camera = cam.id;
    var head = el('header', 'camera-head');
    var title = el('h2');
    if (S.single === null) {
      var a = el('a', null, cam.id);
      a.href = '/cameras/' + encodeURIComponent(cam.id);
      title.appendChild(a);
    } else {
      title.textContent = cam.id;
    }
    head.appendChild(title);
    cam.stateEl = el('span', 'cam-state', '…');
    head.appendChild(cam.stateEl);
    card.appendChild(head);

    var body = el('div', 'camera-body');
    var stage = el('div', 'stage');
    cam.svg = svg('svg', { 'class': 'skeleton', viewBox: '0 0 640 480', role: 'img' });
    cam.svg.dataset.camera = cam.id;
    cam.svg.dataset.updates = '0';
    cam.svg.setAttribute('aria-label', 'pose of the person in view of ' + cam.id);
    cam.frameRect = svg('rect', { 'class': 'frame', x: 0, y: 0, width: 640, height: 480 });
    cam.svg.appendChild(cam.frameRect);
    // Everyone else in view, drawn behind the person followed, in one grey path.
    cam.others = svg('path', { 'class': 'others', d: '' });
    cam.others.dataset.people = '0';
    cam.svg.appendChild(cam.others);
    cam.lines = BONES.map(function (b) {
      var side = (b[0] % 2 === 1 && b[1] % 2 === 1) ? 'left' : (b[0] % 2 === 0 && b[1] % 2 === 0 && b[0] > 0 ? 'right' : 'mid');
      if (b[0] <= 10 && b[1] <= 10) { side = 'face'; }
      var l = svg('line', { 'class': 'bone ' + side, x1: 0, y1: 0, x2: 0, y2: 0, visibility: 'hidden' });
      cam.svg.appendChild(l);
      return l;
    });
    cam.circles = [];
    for (var i = 0; i < 33; i++) {
      var side = i === 0 ? 'mid' : (i % 2 === 1 ? 'left' : 'right');
      var c = svg('circle', { 'class': 'joint ' + side + (i <= 10 ? ' face' : ''), cx: 0, cy: 0, r: 4, visibility: 'hidden' });
      cam.svg.appendChild(c);
      cam.circles.push(c);
    }
    cam.nobody = svg('text', { 'class': 'nobody', x: 320, y: 240, 'text-anchor': 'middle' });
    cam.nobody.textContent = 'waiting for frames';
    cam.svg.appendChild(cam.nobody);
    stage.appendChild(cam.svg);
    var left = el('div', 'left-col');
    left.appendChild(stage);
    var key = el('p', 'sides');
    key.appendChild(el('span', 'side-left', 'the person\u2019s left'));
    key.appendChild(el('span', 'side-right', 'right'));
    key.appendChild(el('span', 'note', 'drawn from landmarks: no video leaves the camera'));
    left.appendChild(key);
    body.appendChild(left);

    var info = el('div', 'info');
    var now = el('div', 'now');
    cam.activityEl = el('span', 'activity', '—');
    cam.activityEl.dataset.activity = '';
    cam.confEl = el('span', 'confidence', '');
    cam.personEl = el('span', 'person', 'person: —');
    now.appendChild(cam.activityEl);
    now.appendChild(cam.confEl);
    now.appendChild(cam.personEl);
    info.appendChild(now);

    var tl = el('div', 'timeline');
    var tlHead = el('div', 'timeline-head');
    tlHead.appendChild(el('span', 'label', 'Last'));
    var sel = el('select', 'window');
    [[60, '1 min'], [300, '5 min'], [600, '10 min']].forEach(function (o) {
      var opt = el('option', null, o[1]);
      opt.value = String(o[0]);
      if (o[0] === S.windowS) { opt.selected = true; }
      sel.appendChild(opt);
    });
    sel.addEventListener('change', function () {
      S.windowS = Number(sel.value) || 300;
      S.cameras.forEach(function (c) {
        var s = c.card.querySelector('select.window');
        if (s) { s.value = String(S.windowS); }
        renderTimeline(c);
      });
    });
    tlHead.appendChild(sel);
    cam.tNowEl = el('span', 'tnow', '');
    tlHead.appendChild(cam.tNowEl);
    tl.appendChild(tlHead);
    cam.track = el('div', 'track');
    tl.appendChild(cam.track);
    cam.axis = el('div', 'axis');
    tl.appendChild(cam.axis);
    info.appendChild(tl);

    var health = el('dl', 'health');
    cam.healthEls = {};
    [['fps', 'capture fps'], ['process_fps', 'analysed fps'], ['dropped', 'dropped'], ['inference_ms', 'inference']].forEach(function (h) {
      health.appendChild(el('dt', null, h[1]));
      var dd = el('dd', 'h-' + h[0], '—');
      health.appendChild(dd);
      cam.healthEls[h[0]] = dd;
    });
    info.appendChild(health);
    cam.errorEl = el('p', 'cam-error');
    cam.errorEl.hidden = true;
    info.appendChild(cam.errorEl);

    var tugBox = el('div', 'tug-results');
    tugBox.appendChild(el('h3', null, 'Last TUG'));
    cam.tugEl = el('div', 'tug-last', 'none yet');
    tugBox.appendChild(cam.tugEl);
    info.appendChild(tugBox);

    var evBox = el('div', 'events-box');
    evBox.appendChild(el('h3', null, 'Events'));
    cam.eventsEl = el('ol', 'events');
    evBox.appendChild(cam.eventsEl);
    info.appendChild(evBox);

    body.appendChild(info);
    card.appendChild(body);
    cam.card = card;
    $('cameras').appendChild(card);
  }

  function setSize(cam, w, h) {
    w = num(w); h = num(h);
    if (!w || !h || (w === cam.width && h === cam.height && cam.sized)) { return; }
    cam.width = w; cam.height = h; cam.sized = true;
    cam.svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    cam.svg.style.aspectRatio = w + ' / ' + h;
    cam.frameRect.setAttribute('width', w);
    cam.frameRect.setAttribute('height', h);
    cam.nobody.setAttribute('x', w / 2);
    cam.nobody.setAttribute('y', h / 2);
    var stroke = Math.max(w, h) / 160;
    cam.svg.style.setProperty('--bone', stroke.toFixed(2) + 'px');
    var r = (Math.max(w, h) / 130).toFixed(2);
    cam.circles.forEach(function (c) { c.setAttribute('r', r); });
  }

  function drawSkeleton(cam, lm, t) {
    var w = cam.width, h = cam.height;
    var pts = null;
    if (Array.isArray(lm) && lm.length >= 33) {
      pts = lm.map(function (row) {
        if (!Array.isArray(row) || row.length < 2) { return null; }
        var x = num(row[0]), y = num(row[1]);
        // Rows are [x, y, vis] (live) or [x, y, z, vis] (landmark frames): visibility is last.
        var vis = row.length >= 3 ? num(row[row.length - 1]) : 1;
        if (x === null || y === null || (vis !== null && vis < MIN_VISIBILITY)) { return null; }
        return [x * w, y * h];
      });
    }
    for (var i = 0; i < BONES.length; i++) {
      var l = cam.lines[i];
      var a = pts && pts[BONES[i][0]], b = pts && pts[BONES[i][1]];
      if (a && b) {
        l.setAttribute('x1', a[0].toFixed(1)); l.setAttribute('y1', a[1].toFixed(1));
        l.setAttribute('x2', b[0].toFixed(1)); l.setAttribute('y2', b[1].toFixed(1));
        l.setAttribute('visibility', 'visible');
      } else {
        l.setAttribute('visibility', 'hidden');
      }
    }
    for (var j = 0; j < 33; j++) {
      var c = cam.circles[j], p = pts && pts[j];
      if (p) {
        c.setAttribute('cx', p[0].toFixed(1)); c.setAttribute('cy', p[1].toFixed(1));
        c.setAttribute('visibility', 'visible');
      } else {
        c.setAttribute('visibility', 'hidden');
      }
    }
    cam.nobody.textContent = pts ? '' : cam.present ? 'no pose in this frame' : 'nobody in view';
    cam.updates += 1;
    cam.svg.dataset.updates = String(cam.updates);
    if (num(t) !== null) { cam.svg.dataset.t = String(t); }
  }

  // The other people in view: each one's bones as path segments (visible points only).
  function drawOthers(cam, others) {
    var w = cam.width, h = cam.height, d = [], n = 0;
    (Array.isArray(others) ? others : []).forEach(function (o) {
      var lm = o && o.landmarks;
      if (!Array.isArray(lm) || lm.length < 33) { return; }
      n += 1;
      var at = function (k) {
        var row = lm[k];
        if (!Array.isArray(row) || row.length < 2) { return null; }
        var x = num(row[0]), y = num(row[1]), vis = row.length >= 3 ? num(row[row.length - 1]) : 1;
        if (x === null || y === null || (vis !== null && vis < MIN_VISIBILITY)) { return null; }
        return (x * w).toFixed(1) + ' ' + (y * h).toFixed(1);
      };
      BONES.forEach(function (b) {
        var a = at(b[0]), c = at(b[1]);
        if (a && c) { d.push('M' + a + 'L' + c); }
      });
    });
    cam.others.setAttribute('d', d.join(''));
    cam.others.dataset.people = String(n);
  }

  function setActivity(cam, activity, confidence, present) {
    if (typeof activity === 'string' && activity) {
      cam.activity = activity;
      cam.activityEl.textContent = activity;
      cam.activityEl.dataset.activity = activity;
      cam.activityEl.style.setProperty('--c', COLOURS[activity] || 'transparent');
      cam.activityEl.classList.toggle('label', !COLOURS[activity]);
      cam.confEl.textContent = pct(confidence);
    }
    if (typeof present === 'boolean') {
      cam.present = present;
      cam.personEl.textContent = 'person: ' + (present ? 'yes' : 'no');
      cam.personEl.dataset.present = String(present);
    }
  }

  function setNow(cam, t) {
    t = num(t);
    if (t === null) { return; }
    if (cam.t !== null && cam.t - t > 5) {
      // The camera's timeline started again (the daemon restarted): forget the old one.
      cam.segments.clear();
      cam.current = null;
    }
    if (cam.t === null || t >= cam.t || cam.t - t > 5) { cam.t = t; }
    cam.tNowEl.textContent = 'camera time ' + camTime(cam.t);
  }

  // ---- segments and events ---------------------------------------------------------------

  function segKey(activity, start) { return activity + '@' + (num(start) || 0).toFixed(2); }

  function addSegment(cam, s) {
    if (!s || typeof s.activity !== 'string' || num(s.start) === null || num(s.end) === null) { return; }
    cam.segments.set(segKey(s.activity, s.start), {
      activity: s.activity, start: s.start, end: s.end, confidence: num(s.confidence)
    });
    if (cam.current && cam.current.activity === s.activity && Math.abs(cam.current.start - s.start) < 0.01) {
      cam.current = null;
    }
  }

  function eventKey(ev) {
    return [ev.kind, ev.activity || '', num(ev.start), num(ev.end), num(ev.at), num(ev.total_s)].join('|');
  }

  function addEvent(cam, ev, render) {
    if (!ev || typeof ev !== 'object') { return; }
    var key = eventKey(ev);
    if (cam.seen.has(key)) { return; }
    cam.seen.add(key);
    // Remember more events than are shown: /recent sends its last 50 again on reconnecting.
    if (cam.seen.size > 1000) { cam.seen.delete(cam.seen.values().next().value); }
    switch (ev.kind) {
      case 'started':
        if (typeof ev.activity === 'string' && num(ev.start) !== null &&
            (!cam.current || cam.current.start <= ev.start) &&
            !cam.segments.has(segKey(ev.activity, ev.start))) {
          cam.current = { activity: ev.activity, start: ev.start, confidence: num(ev.confidence) };
        }
        break;
      case 'ended':
        addSegment(cam, ev);
        break;
      case 'nobody_in_view':
        cam.current = null;
        break;
      case 'tug':
        addTug(cam, ev);
        break;
    }
    cam.events.push(ev);
    if (cam.events.length > MAX_EVENTS * 3) { cam.events.splice(0, cam.events.length - MAX_EVENTS); }
    if (render !== false) { renderEvents(cam); renderTimeline(cam); }
  }

  function addTug(cam, tug) {
    if (!tug || num(tug.total_s) === null) { return; }
    var dup = cam.tugs.some(function (x) { return x.start === tug.start && x.total_s === tug.total_s; });
    if (!dup) {
      cam.tugs.push(tug);
      if (cam.tugs.length > 5) { cam.tugs.shift(); }
    }
    renderTug(cam);
  }

  function describe(ev) {
    switch (ev.kind) {
      case 'started': return ['started', ev.activity + ' (' + pct(ev.confidence) + ')', ev.activity];
      case 'ended': return ['ended', ev.activity + ', ' + fmt(num(ev.end) - num(ev.start), 1, 's'), ev.activity];
      case 'nobody_in_view': return ['nobody', 'nobody in view', null];
      case 'tug': return ['tug', 'Timed Up and Go: ' + fmt(ev.total_s, 2, 's'), null];
      default: return ['other', String(ev.kind || 'event'), null];
    }
  }

  function renderEvents(cam) {
    var list = cam.events.slice(-MAX_EVENTS).reverse();
    var frag = document.createDocumentFragment();
    list.forEach(function (ev) {
      var d = describe(ev);
      var li = el('li', 'event ' + d[0]);
      li.dataset.kind = String(ev.kind || '');
      var when = ev.kind === 'nobody_in_view' ? ev.at : ev.kind === 'ended' || ev.kind === 'tug' ? ev.end : ev.start;
      li.appendChild(el('time', null, clock(ev.ts) || camTime(when)));
      var what = el('span', 'what', d[1]);
      if (d[2]) { what.style.setProperty('--c', colour(d[2])); what.classList.add('dot'); }
      li.appendChild(what);
      frag.appendChild(li);
    });
    cam.eventsEl.replaceChildren(frag);
  }

  function renderTimeline(cam) {
    var now = cam.t;
    if (now === null) {
      cam.segments.forEach(function (s) { now = now === null ? s.end : Math.max(now, s.end); });
      if (cam.current) { now = Math.max(now || 0, cam.current.start); }
    }
    if (now === null) { cam.track.replaceChildren(); return; }
    var win = S.windowS, t0 = now - win;
    // Forget what is long past.
    cam.segments.forEach(function (s, k) { if (s.end < now - KEEP_S) { cam.segments.delete(k); } });
    var list = Array.from(cam.segments.values());
    list.sort(function (a, b) { return a.start - b.start; });
    if (cam.current) {
      list.push({ activity: cam.current.activity, start: cam.current.start, end: Math.max(now, cam.current.start), confidence: cam.current.confidence, open: true });
    }
    var frag = document.createDocumentFragment();
    list.forEach(function (s) {
      if (s.end < t0 || s.start > now) { return; }
      var left = Math.max(0, (s.start - t0) / win), right = Math.min(1, (s.end - t0) / win);
      var b = el('div', 'segment' + (s.open ? ' open' : ''));
      b.dataset.activity = s.activity;
      b.dataset.start = s.start.toFixed(3);
      b.dataset.end = s.end.toFixed(3);
      b.title = s.activity + ' ' + s.start.toFixed(1) + '–' + (s.open ? 'now' : s.end.toFixed(1) + ' s') +
        (s.confidence !== null && s.confidence !== undefined ? ' (' + pct(s.confidence) + ')' : '');
      b.style.left = (left * 100).toFixed(3) + '%';
      b.style.width = (Math.max(right - left, 0.002) * 100).toFixed(3) + '%';
      b.style.backgroundColor = colour(s.activity);
      frag.appendChild(b);
    });
    cam.track.replaceChildren(frag);
    if (cam.axisWindow !== win) {
      cam.axisWindow = win;
      var ax = document.createDocumentFragment();
      var step = win <= 60 ? 15 : 60;
      for (var k = win; k >= 0; k -= step) {
        var tick = el('span', 'tick', k === 0 ? 'now' : '−' + (step === 60 ? k / 60 + ' min' : k + ' s'));
        tick.style.left = ((1 - k / win) * 100) + '%';
        ax.appendChild(tick);
      }
      cam.axis.replaceChildren(ax);
    }
  }

  // ---- TUG results (per camera) ---------------------------------------------------------------

  // Phases as a list, from a TUG event (array) or a trial result (object by phase name).
  function phaseList(phases) {
    if (Array.isArray(phases)) {
      return phases.map(function (p) {
        p = p || {};
        return {
          name: p.activity || p.name || '?', activity: p.activity, start: num(p.start), end: num(p.end),
          duration: num(p.duration_s) !== null ? p.duration_s : (num(p.end) !== null && num(p.start) !== null ? p.end - p.start : null),
          implied: !!p.implied, out_of_view: !!p.out_of_view
        };
      });
    }
    if (phases && typeof phases === 'object') {
      var names = Object.keys(PHASE_NAMES).filter(function (k) { return k in phases; });
      Object.keys(phases).forEach(function (k) { if (names.indexOf(k) < 0) { names.push(k); } });
      return names.map(function (k) {
        var p = phases[k];
        if (!p || typeof p !== 'object') { return { name: PHASE_NAMES[k] || k, missing: true }; }
        return {
          name: PHASE_NAMES[k] || k, activity: p.activity, start: num(p.start), end: num(p.end),
          duration: num(p.duration_s) !== null ? p.duration_s : (num(p.end) !== null && num(p.start) !== null ? p.end - p.start : null),
          implied: !!p.implied, out_of_view: !!p.out_of_view
        };
      });
    }
    return [];
  }

  function phaseTable(total, phases) {
    var table = el('table', 'phases');
    var head = el('tr', 'total');
    head.appendChild(el('th', null, 'total'));
    head.appendChild(el('td', null, fmt(total, 2, 's')));
    table.appendChild(head);
    phaseList(phases).forEach(function (p) {
      var tr = el('tr', 'phase');
      var th = el('th', null, p.name);
      if (p.activity && COLOURS[p.activity]) { th.style.setProperty('--c', COLOURS[p.activity]); th.classList.add('dot'); }
      tr.appendChild(th);
      var notes = [];
      if (p.missing) { notes.push('not seen'); }
      if (p.implied) { notes.push('inferred'); }
      if (p.out_of_view) { notes.push('out of view'); }
      tr.appendChild(el('td', null, p.missing ? '—' : fmt(p.duration, 2, 's')));
      tr.appendChild(el('td', 'note', notes.join(', ')));
      table.appendChild(tr);
    });
    return table;
  }

  function renderTug(cam) {
    var last = cam.tugs[cam.tugs.length - 1];
    if (!last) { cam.tugEl.textContent = 'none yet'; return; }
    var frag = document.createDocumentFragment();
    frag.appendChild(phaseTable(last.total_s, last.phases));
    if (cam.tugs.length > 1) {
      var prev = cam.tugs.slice(0, -1).reverse().map(function (x) { return fmt(x.total_s, 2, 's'); });
      frag.appendChild(el('p', 'earlier', 'earlier: ' + prev.join(', ')));
    }
    cam.tugEl.replaceChildren(frag);
  }

  // ---- /recent, the WebSocket, /health ----------------------------------------------------

  function applyRecent(r) {
    if (!r || typeof r !== 'object') { return; }
    if (Array.isArray(r.classes) && r.classes.length) { S.classes = r.classes.slice(); renderLegend(); }
    arr(r.cameras).forEach(function (c) {
      var cam = camera(c && c.id);
      if (!cam) { return; }
      setSize(cam, c.width, c.height);
      setNow(cam, c.t);
      arr(c.segments).forEach(function (s) { addSegment(cam, s); });
      if (c.current && typeof c.current.activity === 'string' && num(c.current.start) !== null &&
          !cam.segments.has(segKey(c.current.activity, c.current.start)) &&
          (!cam.current || cam.current.start <= c.current.start)) {
        cam.current = { activity: c.current.activity, start: c.current.start, confidence: num(c.current.confidence) };
      }
      arr(c.events).forEach(function (ev) { addEvent(cam, ev, false); });
      arr(c.tugs).forEach(function (t) { addTug(cam, t); });
      if (c.state && cam.updates === 0) {
        setActivity(cam, c.state.activity, c.state.confidence, c.state.person_present);
        if (Array.isArray(c.landmarks)) { drawSkeleton(cam, c.landmarks, c.t); }
      }
      renderEvents(cam);
      renderTimeline(cam);
    });
  }

  function onMessage(m) {
    if (!m || typeof m !== 'object') { return; }
    if (m.type === 'frame') {
      var cam = camera(m.camera);
      if (!cam) { return; }
      setSize(cam, m.width, m.height);
      setNow(cam, m.t);
      setActivity(cam, m.activity, m.confidence, m.person_present);
      drawSkeleton(cam, m.landmarks, m.t);
      drawOthers(cam, m.others);
      cam.lastFrame = Date.now();
      cam.card.classList.remove('stale');
    } else if (m.type === 'event') {
      var c2 = camera(m.camera);
      if (c2) { addEvent(c2, m.event); }
    } else if (m.type === 'trial') {
      upsertTrial(m.trial);
      renderTrials();
      refreshAgreement();
    }
  }

  function connect() {
    clearTimeout(S.reconnectTimer);
    if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
    setConn('connecting', 'connecting');
    api('GET', '/recent').then(function (r) {
      S.tokenRefused = false;
      applyRecent(r);
      openSocket();
    }, function (e) {
      if (e && e.status === 401) { return; } // the token form is shown
      setConn('disconnected', 'disconnected');
      retry();
    });
  }

  function openSocket() {
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var q = [];
    if (S.single !== null) { q.push('camera=' + encodeURIComponent(S.single)); }
    if (S.token) { q.push('token=' + encodeURIComponent(S.token)); }
    var url = proto + '//' + location.host + '/live' + (q.length ? '?' + q.join('&') : '');
    var ws;
    try { ws = new WebSocket(url); } catch (e) { retry(); return; }
    S.ws = ws;
    ws.onopen = function () {
      S.backoff = 1000;
      setConn('live', 'live');
      // Catch up on what happened while connecting.
      api('GET', '/recent').then(applyRecent, function () { /* the socket carries on */ });
    };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      onMessage(m);
    };
    ws.onclose = function () {
      if (S.ws !== ws) { return; }
      S.ws = null;
      setConn('disconnected', 'disconnected');
      retry();
    };
  }

  function retry() {
    clearTimeout(S.reconnectTimer);
    var wait = S.backoff;
    S.backoff = Math.min(S.backoff * 2, 30000);
    setConn('disconnected', 'disconnected, retrying in ' + Math.round(wait / 1000) + ' s');
    S.reconnectTimer = setTimeout(connect, wait);
  }

  function refreshHealth() {
    fetch('/health', { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (h) {
        var o = $('overall');
        o.dataset.status = String(h.status || '');
        o.textContent = h.status || '?';
        var cams = arr(h.cameras);
        cams.forEach(function (c) {
          var cam = camera(c && c.id);
          if (!cam) { return; }
          cam.health = c;
          cam.stateEl.textContent = c.stalled ? 'stalled' : String(c.state || '?');
          cam.stateEl.dataset.state = c.stalled ? 'stalled' : String(c.state || '');
          cam.healthEls.fps.textContent = fmt(c.fps, 1);
          cam.healthEls.process_fps.textContent = fmt(c.process_fps, 1);
          cam.healthEls.dropped.textContent = num(c.dropped) === null ? '—' : String(c.dropped);
          cam.healthEls.inference_ms.textContent = fmt(c.inference_ms, 1, 'ms');
          cam.errorEl.hidden = !c.last_error;
          cam.errorEl.textContent = c.last_error ? String(c.last_error) : '';
        });
        if (S.single !== null && !cams.some(function (c) { return c && c.id === S.single; })) {
          var e = $('cameras-empty');
          e.textContent = 'No camera "' + S.single + '".';
          e.hidden = false;
          S.cameras.forEach(function (cam) { cam.card.hidden = true; });
        } else if (!cams.length && !S.cameras.size) {
          $('cameras-empty').hidden = false;
        }
        S.cameras.forEach(function (cam) {
          cam.card.classList.toggle('stale', !!cam.lastFrame && Date.now() - cam.lastFrame > 5000);
          renderTimeline(cam);
        });
      })
      .catch(function () {
        var o = $('overall');
        o.dataset.status = 'unreachable';
        o.textContent = 'unreachable';
      });
  }

  function renderLegend() {
    var frag = document.createDocumentFragment();
    S.classes.forEach(function (c) {
      var s = el('span', 'dot', c);
      s.style.setProperty('--c', colour(c));
      frag.appendChild(s);
    });
    $('legend').replaceChildren(frag);
  }

  // ---- TUG trials (the clinician's view) --------------------------------------------------

  function fillCameraSelect() {
    var sel = $('arm-camera');
    var keep = sel.value;
    var frag = document.createDocumentFragment();
    S.cameras.forEach(function (cam) {
      var o = el('option', null, cam.id);
      o.value = cam.id;
      frag.appendChild(o);
    });
    sel.replaceChildren(frag);
    if (keep && S.cameras.has(keep)) { sel.value = keep; }
  }

  function upsertTrial(t) {
    if (!t || t.id === undefined || t.id === null) { return; }
    var id = String(t.id);
    var i = S.trials.findIndex(function (x) { return String(x.id) === id; });
    if (i >= 0) { S.trials[i] = t; } else { S.trials.unshift(t); }
  }

  function armMessage(text, isError) {
    var m = $('arm-message');
    m.textContent = text;
    m.classList.toggle('error', !!isError);
    m.hidden = !text;
  }

  $('arm-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { camera: $('arm-camera').value };
    var subject = $('arm-subject').value.trim();
    if (subject) { body.subject = subject; }
    var walk = parseFloat($('arm-walk').value);
    if (isFinite(walk) && walk > 0) { body.walk_m = walk; }
    if (!body.camera) { armMessage('Choose a camera.', true); return; }
    api('POST', '/tug/trials', body).then(function (t) {
      upsertTrial(t);
      renderTrials();
      armMessage('Trial armed on ' + body.camera + ': the next Timed Up and Go test there completes it.', false);
      refreshTrials();
    }, function (e) {
      if (e.status === 401) { armMessage('The token is needed first.', true); return; }
      if (e.code === 'trial_armed') { armMessage(body.camera + ' already has an armed trial.', true); return; }
      armMessage(e.message || 'Could not arm the trial.', true);
    });
  });

  function refreshTrials() {
    api('GET', '/tug/trials').then(function (r) {
      S.trials = arr(r && r.trials).slice();
      renderTrials();
    }, function () { /* shown by the token form or retried */ });
    refreshAgreement();
  }

  function refreshAgreement() {
    api('GET', '/tug/agreement').then(renderAgreement, function () { /* idem */ });
  }

  function renderAgreement(a) {
    a = a || {};
    var box = $('agreement');
    var n = num(a.n) || 0;
    box.dataset.n = String(n);
    box.querySelector('.ag-n').textContent = String(n);
    box.querySelector('.ag-bias').textContent = num(a.bias_s) === null ? '—' :
      fmt(a.bias_s, 2, 's') + (num(a.sd_s) !== null ? ' (SD ' + fmt(a.sd_s, 2, 's') + ')' : '');
    box.querySelector('.ag-loa').textContent = num(a.loa_low_s) === null ? '—' :
      fmt(a.loa_low_s, 2, 's') + ' to ' + fmt(a.loa_high_s, 2, 's');
    box.querySelector('.ag-icc').textContent = fmt(a.icc_a1, 3);
    box.querySelector('.ag-note').hidden = n >= 2;
  }

  function row(dl, label, value, cls) {
    dl.appendChild(el('dt', null, label));
    dl.appendChild(el('dd', cls || null, value));
  }

  function renderTrials() {
    $('trials-empty').hidden = S.trials.length > 0;
    var frag = document.createDocumentFragment();
    S.trials.forEach(function (t) { frag.appendChild(trialCard(t)); });
    var box = $('trials');
    // Keep a stopwatch value being typed.
    var typing = document.activeElement && box.contains(document.activeElement) ? document.activeElement : null;
    if (typing && typing.classList.contains('stopwatch-input')) {
      var id = typing.dataset.trial, val = typing.value;
      box.replaceChildren(frag);
      var again = box.querySelector('.stopwatch-input[data-trial="' + CSS.escape(id) + '"]');
      if (again) { again.value = val; again.focus(); }
    } else {
      box.replaceChildren(frag);
    }
  }

  function trialCard(t) {
    var card = el('article', 'trial');
    card.dataset.id = String(t.id);
    card.dataset.status = String(t.status || '');
    var head = el('header', 'trial-head');
    head.appendChild(el('h4', null, 'Trial ' + t.id + (t.subject ? ' · ' + t.subject : '')));
    head.appendChild(el('span', 'trial-status', t.status || '?'));
    var del = el('button', 'delete', 'Delete');
    del.type = 'button';
    del.addEventListener('click', function () {
      if (!window.confirm('Delete trial ' + t.id + '?')) { return; }
      api('DELETE', '/tug/trials/' + encodeURIComponent(t.id)).then(refreshTrials, refreshTrials);
    });
    head.appendChild(del);
    card.appendChild(head);

    var dl = el('dl', 'trial-facts');
    row(dl, 'camera', String(t.camera || '—'));
    row(dl, 'walk', fmt(t.walk_m, 1, 'm'));
    row(dl, 'armed', clock(t.armed_at) || '—');
    if (t.completed_at !== null && t.completed_at !== undefined) { row(dl, 'completed', clock(t.completed_at)); }
    card.appendChild(dl);

    var r = t.result;
    if (t.status === 'armed' || !r) {
      card.appendChild(el('p', 'waiting', t.status === 'armed'
        ? 'Waiting for the test on ' + (t.camera || 'the camera') + ': sit, stand up, walk, turn, walk back, sit down.'
        : 'No result.'));
    }
    if (r && typeof r === 'object') {
      var res = el('div', 'trial-result');
      res.appendChild(phaseTable(r.total_s, r.phases));
      var m = el('dl', 'trial-measures');
      row(m, 'gait speed', fmt(r.gait_speed_mps, 2, 'm/s'), 'gait');
      row(m, 'turn time', fmt(r.turn_s, 2, 's'), 'turn');
      row(m, 'out of view', fmt(r.out_of_view_s, 1, 's'), 'oov');
      var flags = arr(r.quality && r.quality.flags);
      var mc = num(r.quality && r.quality.mean_confidence);
      row(m, 'quality', (flags.length ? flags.join(', ').replace(/_/g, ' ') : 'no flags') +
        (mc !== null ? ' (mean confidence ' + pct(mc) + ')' : ''), 'flags');
      row(m, 'end rule', String(r.end_rule || '—').replace(/_/g, ' '));
      res.appendChild(m);
      var fr = r.fall_risk || {};
      var thr = num(fr.threshold_s) !== null ? fr.threshold_s : 12;
      var ref = el('p', 'fall-risk');
      ref.dataset.atOrAbove = String(!!fr.at_or_above);
      ref.textContent = (fr.at_or_above
        ? 'At or above the ' + thr + ' s reference. '
        : 'Below the ' + thr + ' s reference. ') +
        (fr.reference ? String(fr.reference).replace(/\.?$/, '.') : 'CDC STEADI: ' + thr + ' s or more = at risk of falling.') +
        ' ' + (fr.note ? String(fr.note).replace(/^./, function (c) { return c.toUpperCase(); }).replace(/\.?$/, '.') : 'A reference for the clinician, not a diagnosis.');
      res.appendChild(ref);
      card.appendChild(res);
    }
    if (t.status === 'completed') {
      var f = el('form', 'stopwatch');
      var lab = el('label', null, 'Stopwatch (s) ');
      var input = el('input', 'stopwatch-input');
      input.type = 'number'; input.step = '0.01'; input.min = '1'; input.max = '600';
      input.dataset.trial = String(t.id);
      input.inputMode = 'decimal';
      if (num(t.stopwatch_s) !== null) { input.value = String(t.stopwatch_s); }
      lab.appendChild(input);
      f.appendChild(lab);
      var b = el('button', null, num(t.stopwatch_s) !== null ? 'Update' : 'Save');
      b.type = 'submit';
      f.appendChild(b);
      var msg = el('span', 'message');
      if (num(t.stopwatch_s) !== null) { msg.textContent = 'saved: ' + fmt(t.stopwatch_s, 2, 's'); }
      f.appendChild(msg);
      f.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var v = parseFloat(input.value);
        if (!isFinite(v) || v <= 0) { msg.textContent = 'enter the seconds'; return; }
        api('POST', '/tug/trials/' + encodeURIComponent(t.id) + '/stopwatch', { seconds: v }).then(function (nt) {
          if (nt && nt.id !== undefined) { upsertTrial(nt); } else { t.stopwatch_s = v; }
          renderTrials();
          refreshAgreement();
        }, function (e) { msg.textContent = e.message || 'not saved'; });
      });
      card.appendChild(f);
    }
    return card;
  }

  // ---- views ------------------------------------------------------------------------------

  function showView() {
    var tug = location.hash === '#tug';
    $('tug-view').hidden = !tug;
    $('cameras-view').hidden = tug;
    $('nav-tug').classList.toggle('active', tug);
    $('nav-cameras').classList.toggle('active', !tug);
    clearInterval(S.trialsTimer);
    if (tug) {
      refreshTrials();
      S.trialsTimer = setInterval(refreshTrials, 5000);
    }
  }

  // ---- start ------------------------------------------------------------------------------

  if (S.single !== null) {
    $('single-nav').hidden = false;
    document.title = S.single + ' · activityd';
    camera(S.single);
  }
  window.addEventListener('hashchange', showView);
  showView();
  refreshHealth();
  setInterval(refreshHealth, 2000);
  connect();
}());
