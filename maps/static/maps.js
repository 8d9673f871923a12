/* landflood maps: the layers, legend, scenario switcher, search, popups and officer sign-in of
 * the flood-risk and land-use maps that maps/pages.py builds with folium.
 *
 * Served by the app, parcels, zones and hotspots come from the app's vector tiles
 * (Leaflet.VectorGrid) and a click asks the OGC API for the parcel under the pointer; in an
 * exported page (`landflood maps export`) the same layers are GeoJSON embedded in the page.
 * Settings and words come from window.LF_CONFIG.
 */
(function () {
  'use strict';
  var LF = window.LF = {layers: {}, state: {scenario: null}};
  var RISK = ['low', 'medium', 'high', 'very_high'];
  var RISK_COLORS = {low: '#fee08b', medium: '#fdae61', high: '#f46d43', very_high: '#a50026'};
  var HOTSPOT_COLOR = '#6a3d9a';
  var GAUGE_COLOR = '#1f78b4';

  function cfg() { return window.LF_CONFIG; }
  function t(key) { var s = cfg().t[key]; return s === undefined ? key : s; }
  function esc(v) {
    return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function num(v, digits) {
    if (v === null || v === undefined || v === '') { return ''; }
    return Number(v).toLocaleString(cfg().lang === 'en' ? 'en-GB' : 'vi-VN',
      {maximumFractionDigits: digits === undefined ? 2 : digits});
  }
  function day(iso) { return iso ? String(iso).slice(0, 16).replace('T', ' ') : ''; }
  function embedded() { return !!cfg().data; }
  function getJSON(url) {
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/geo+json, application/json'}})
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); });
  }
  function items(collection, params) {
    var q = Object.keys(params).map(function (k) { return k + '=' + encodeURIComponent(params[k]); });
    q.push('lang=' + cfg().lang);
    return getJSON(cfg().api + '/collections/' + collection + '/items?' + q.join('&'));
  }
  function cqlString(s) { return "'" + String(s).replace(/'/g, "''") + "'"; }
  function riskLabel(cls) { return cls ? t('risk_' + cls) : t('risk_none'); }
  function worstRisk(risks) {
    var worst = null;
    (risks || []).forEach(function (r) { if (RISK.indexOf(r.risk_class) > RISK.indexOf(worst)) { worst = r.risk_class; } });
    return worst;
  }

  // --- styles (one function per layer, shared by vector tiles and GeoJSON) ---------------
  function landUseStyle(p, zoom) {
    var lu = cfg().landUse[p.land_use] || {color: '#cccccc'};
    return {fill: true, fillColor: lu.color, fillOpacity: 0.75, stroke: zoom >= 16, color: '#555555', weight: 0.5};
  }
  function riskStyle(p, zoom) {
    // Lakes, rivers and ponds are water, not parcels at risk of waterlogging: drawn as water.
    if ((cfg().waterCodes || []).indexOf(p.land_use) >= 0) { return landUseStyle(p, zoom); }
    var color = RISK_COLORS[p.flood_risk !== undefined ? p.flood_risk : worstRisk(p.risks)];
    return {fill: true, fillColor: color || '#ffffff', fillOpacity: color ? 0.7 : 0.15,
      stroke: zoom >= 16, color: '#777777', weight: 0.4};
  }
  function zoneStyle(p) {
    if (p.scenario !== LF.state.scenario) { return []; }
    var color = RISK_COLORS[p.risk_class] || '#888888';
    return {fill: true, fillColor: color, fillOpacity: 0.35, stroke: true, color: color, weight: 1};
  }
  function hotspotStyle(p) {
    var depth = Math.min(Number(p.max_depth_m) || 0, 1);
    return {radius: 5 + depth * 6, fill: true, fillColor: HOTSPOT_COLOR, fillOpacity: 0.85,
      stroke: true, color: '#ffffff', weight: 1.5};
  }

  // --- layers -------------------------------------------------------------------------------
  // Tiles carry only what the layer's style reads (`properties=`); a click asks the API for the rest.
  function tileLayer(collection, properties, style, options) {
    var styles = {};
    styles[collection] = style;
    return L.vectorGrid.protobuf(cfg().api + '/collections/' + collection + '/tiles/WebMercatorQuad/{z}/{y}/{x}' +
      '?properties=' + properties,
      L.extend({rendererFactory: L.canvas.tile, vectorTileLayerStyles: styles, interactive: false,
        maxNativeZoom: 18, maxZoom: 22, fetchOptions: {credentials: 'same-origin'}}, options || {}));
  }
  function geojsonLayer(data, style, onClick) {
    return L.geoJSON(data, {
      style: function (f) { var s = style(f.properties, 18); return Array.isArray(s) ? {stroke: false, fill: false} : s; },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, style(f.properties, 18)); },
      onEachFeature: function (f, layer) {
        if (onClick) { layer.on('click', function (e) { L.DomEvent.stop(e); onClick(f, e.latlng); }); }
      }
    });
  }
  function gaugeLayer(map) {
    var layer = L.geoJSON(null, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {radius: 6, color: '#ffffff', weight: 1.5, fillColor: GAUGE_COLOR,
          fillOpacity: 0.95, bubblingMouseEvents: false});
      },
      onEachFeature: function (f, marker) {
        marker.bindPopup(t('loading'), {maxWidth: 340});
        marker.on('popupopen', function () { showRain(marker, f); });
      }
    });
    if (embedded()) { layer.addData(cfg().data.gauges); } else {
      items('rain-gauges', {limit: 1000}).then(function (fc) { layer.addData(fc); }, function () {});
    }
    return layer;
  }
  function adminLayer() {
    var layer = L.geoJSON(null, {interactive: false,
      style: {color: '#333333', weight: 1.5, dashArray: '5 4', fill: false}});
    if (embedded()) { layer.addData(cfg().data.admin); } else {
      getJSON(cfg().routes.admin).then(function (fc) { layer.addData(fc); }, function () {});
    }
    return layer;
  }

  /** A layer for folium's layer control (called from the page folium rendered). */
  LF.layer = function (kind, map) {
    var data = cfg().data, layer;
    if (kind === 'parcels-landuse') {
      layer = data ? geojsonLayer(data.parcels, landUseStyle, showParcelFeature) : tileLayer('parcels', 'land_use', landUseStyle, {minZoom: cfg().parcelsMinZoom});
    } else if (kind === 'parcels-risk') {
      layer = data ? geojsonLayer(data.parcels, riskStyle, showParcelFeature) : tileLayer('parcels', 'land_use,flood_risk', riskStyle, {minZoom: cfg().parcelsMinZoom});
    } else if (kind === 'zones') {
      layer = data ? geojsonLayer(data.zones, zoneStyle) : tileLayer('flood-risk-zones', 'scenario,risk_class', zoneStyle, {maxNativeZoom: 16});
    } else if (kind === 'hotspots') {
      layer = data ? geojsonLayer(data.hotspots, hotspotStyle, showHotspot) : tileLayer('waterlogging-points', 'max_depth_m', hotspotStyle, {maxNativeZoom: 16});
    } else if (kind === 'gauges') {
      layer = gaugeLayer(map);
    } else if (kind === 'admin') {
      layer = adminLayer();
    } else if (kind === 'depth') {
      layer = L.layerGroup();
    } else {
      layer = L.layerGroup();  // 'plain': no tiles, the map's own background
    }
    LF.layers[kind] = layer;
    return layer;
  };

  // --- popups -------------------------------------------------------------------------------
  function row(label, value) { return value === '' || value === null || value === undefined ? '' : '<tr><th>' + esc(label) + '</th><td>' + value + '</td></tr>'; }

  function riskHtml(p, risks) {
    if (risks && risks.length) {
      return '<ul class="lf-risks">' + risks.map(function (r) {
        return '<li><span class="lf-swatch" style="background:' + (RISK_COLORS[r.risk_class] || '#fff') + '"></span>' +
          esc(r.scenario) + ': <b>' + esc(riskLabel(r.risk_class)) + '</b>' +
          (r.max_depth_m !== null && r.max_depth_m !== undefined ? ' (' + esc(t('max_depth')) + ' ' + num(r.max_depth_m) + ' m)' : '') + '</li>';
      }).join('') + '</ul>';
    }
    return p.flood_risk ? esc(riskLabel(p.flood_risk)) : esc(t('no_risk_data'));
  }

  function ownersHtml(p) {
    if (!p.owners && !p.owner_names) { return ''; }
    var list = (p.owners || []).map(function (o) {
      return '<li>' + esc(o.name) + (o.id_number ? ' — ' + esc(o.id_type || '') + ' ' + esc(o.id_number) : '') +
        (o.right ? ' — ' + esc(o.right) : '') + (o.share ? ' (' + esc(o.share) + ')' : '') +
        (o.certificate_no ? ' — ' + esc(o.certificate_no) : '') + '</li>';
    }).join('');
    return row(t('owners'), list ? '<ul class="lf-owners">' + list + '</ul>' : esc(p.owner_names)) +
      (list ? '' : row(t('id_numbers'), esc(p.owner_id_numbers)));
  }

  function parcelHtml(p, risks) {
    var lu = cfg().landUse[p.land_use] || {};
    var name = p.land_use_name || lu[cfg().lang] || '';
    return '<div class="lf-popup lf-parcel" data-parcel-id="' + esc(p.parcel_id) + '">' +
      '<h3>' + esc(t('parcel')) + ' <span class="lf-parcel-id">' + esc(p.parcel_id) + '</span></h3><table>' +
      row(t('parcel_id'), esc(p.parcel_id)) +
      row(t('ward') + ' / ' + t('sheet') + ' / ' + t('number'), esc(p.ward_code) + ' / ' + esc(p.map_sheet) + ' / ' + esc(p.parcel_no)) +
      row(t('land_use'), '<span class="lf-swatch" style="background:' + esc(lu.color || '#ccc') + '"></span>' + esc(p.land_use) + ' — ' + esc(name)) +
      row(t('area'), num(p.area_m2)) + row(t('area_legal'), num(p.area_legal_m2)) +
      row(t('address'), esc(p.address)) +
      row(t('flood_risk'), riskHtml(p, risks || p.risks)) +
      ownersHtml(p) + '</table></div>';
  }

  function highlight(map, feature) {
    if (LF.highlight) { map.removeLayer(LF.highlight); }
    LF.highlight = L.geoJSON(feature, {interactive: false, style: {color: '#00e5ff', weight: 3, fill: false}}).addTo(map);
  }

  function showParcel(map, feature, latlng) {
    var p = feature.properties;
    var popup = L.popup({maxWidth: 380}).setLatLng(latlng).setContent(parcelHtml(p, null)).openOn(map);
    highlight(map, feature);
    if (!embedded()) {
      getJSON(cfg().routes.risk + encodeURIComponent(p.parcel_id) + '/risk').then(function (risks) {
        popup.setContent(parcelHtml(p, risks));
      }, function () {});
    }
  }
  function showParcelFeature(feature, latlng) { showParcel(LF.map, feature, latlng); }

  function hotspotHtml(p, events) {
    var rows = (events || []).map(function (e) {
      return '<tr><td>' + esc(day(e.started_at)) + '</td><td>' + num(e.max_depth_m) + ' m</td><td>' +
        num(e.duration_min, 0) + "'</td><td>" + num(e.rain_mm, 1) + ' mm</td></tr>';
    }).join('');
    return '<div class="lf-popup lf-hotspot"><h3>' + esc(p.name) + ' <small>' + esc(p.code) + '</small></h3><table>' +
      row(t('address'), esc(p.street)) + row(t('events'), num(p.events, 0)) + row(t('deepest'), num(p.max_depth_m)) +
      '</table>' + (rows ? '<h4>' + esc(t('recent_events')) + '</h4><table class="lf-events">' + rows + '</table>' : '') + '</div>';
  }

  function showHotspot(feature, latlng) {
    var p = feature.properties;
    var popup = L.popup({maxWidth: 380}).setLatLng(latlng).setContent(hotspotHtml(p, p.recent)).openOn(LF.map);
    if (embedded()) { return; }
    items('flood-events', {filter: 'point_code = ' + cqlString(p.code), sortby: '-started_at', limit: 5, skipGeometry: 'true'})
      .then(function (fc) {
        popup.setContent(hotspotHtml(p, fc.features.map(function (f) { return f.properties; })));
      }, function () {});
  }

  /** A bar chart (SVG) of rain per interval: [[time, mm], ...]. */
  function rainChart(series) {
    var w = 300, h = 90, max = Math.max.apply(null, series.map(function (s) { return s[1] || 0; }).concat([1]));
    var bw = w / series.length;
    var bars = series.map(function (s, i) {
      var bh = (s[1] || 0) / max * (h - 12);
      return '<rect x="' + (i * bw).toFixed(1) + '" y="' + (h - bh).toFixed(1) + '" width="' + Math.max(bw - 1, 1).toFixed(1) +
        '" height="' + bh.toFixed(1) + '" fill="' + GAUGE_COLOR + '"><title>' + esc(day(s[0])) + ': ' + num(s[1], 1) + ' mm</title></rect>';
    }).join('');
    return '<svg class="lf-rain-chart" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img">' +
      '<text x="2" y="10" font-size="10">' + num(max, 1) + ' mm</text>' + bars + '</svg>';
  }

  function rainHtml(p, series) {
    var head = '<div class="lf-popup lf-gauge"><h3>' + esc(p.name) + ' <small>' + esc(p.code) + '</small></h3>';
    if (!series || !series.length) { return head + '<p>' + esc(t('no_rain')) + '</p></div>'; }
    var total = series.reduce(function (a, s) { return a + (s[1] || 0); }, 0);
    return head + '<p>' + esc(t('rain_48h')) + ' ' + esc(day(series[series.length - 1][0])) + ' — ' +
      esc(t('total')) + ': <b>' + num(total, 1) + ' mm</b></p>' + rainChart(series) + '</div>';
  }

  function showRain(marker, feature) {
    var p = feature.properties;
    if (embedded()) { marker.setPopupContent(rainHtml(p, p.rain)); return; }
    if (!p.last_observation_at) { marker.setPopupContent(rainHtml(p, [])); return; }
    var end = new Date(p.last_observation_at), start = new Date(end.getTime() - 48 * 3600 * 1000);
    var url = cfg().api + '/collections/rainfall/locations/' + encodeURIComponent(p.code) +
      '?datetime=' + encodeURIComponent(start.toISOString() + '/' + end.toISOString());
    getJSON(url).then(function (cov) {
      var times = cov.domain.axes.t.values, values = cov.ranges.rain_mm.values;
      marker.setPopupContent(rainHtml(p, times.map(function (time, i) { return [time, values[i]]; })));
    }, function () { marker.setPopupContent(rainHtml(p, [])); });
  }

  // --- clicks on tiles: ask the API what is under the pointer --------------------------------
  function pointWkt(latlng) { return 'POINT(' + latlng.lng.toFixed(7) + ' ' + latlng.lat.toFixed(7) + ')'; }

  function findParcel(map, latlng) {
    var layer = LF.layers['parcels-landuse'] || LF.layers['parcels-risk'];
    if (!layer || !map.hasLayer(layer) || map.getZoom() < layer.options.minZoom) { return; }
    items('parcels', {filter: 'S_INTERSECTS(geometry,' + pointWkt(latlng) + ')', limit: 1}).then(function (fc) {
      if (fc.features.length) { showParcel(map, fc.features[0], latlng); }
    }, function () {});
  }

  function onMapClick(e) {
    var map = e.target, hotspots = LF.layers.hotspots;
    if (!hotspots || !map.hasLayer(hotspots)) { findParcel(map, e.latlng); return; }
    var metres = 10 * 40075016 * Math.cos(e.latlng.lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
    items('waterlogging-points', {filter: 'S_DWITHIN(geometry,' + pointWkt(e.latlng) + ',' + metres.toFixed(1) + ',meters)', limit: 1})
      .then(function (fc) {
        if (fc.features.length) { showHotspot(fc.features[0], e.latlng); } else { findParcel(map, e.latlng); }
      }, function () { findParcel(map, e.latlng); });
  }

  // --- scenario switcher and water depth ---------------------------------------------------
  function setScenario(name) {
    LF.state.scenario = name;
    if (LF.layers.zones) {
      if (LF.layers.zones.redraw) { LF.layers.zones.redraw(); } else { LF.layers.zones.setStyle(function (f) {
        var s = zoneStyle(f.properties); return Array.isArray(s) ? {stroke: false, fill: false} : s; }); }
    }
    var depth = LF.layers.depth, sc = cfg().scenarios.filter(function (s) { return s.name === name; })[0];
    if (!depth) { return; }
    depth.clearLayers();
    if (sc && sc.depth) {
      depth.addLayer(L.imageOverlay(sc.depth.url, sc.depth.bounds, {opacity: 0.6, interactive: false}));
    } else if (sc && sc.has_depth && cfg().routes) {
      getJSON(cfg().routes.depth + encodeURIComponent(name)).then(function (d) {
        if (LF.state.scenario === name) { depth.addLayer(L.imageOverlay(d.url, d.bounds, {opacity: 0.6, interactive: false})); }
      }, function () {});
    }
  }

  function control(position, className, html) {
    var Ctl = L.Control.extend({onAdd: function () {
      var div = L.DomUtil.create('div', 'leaflet-control lf-box ' + className);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    }});
    return new Ctl({position: position});
  }

  function scenarioControl(map) {
    var list = cfg().scenarios, wanted = new URLSearchParams(location.search).get('scenario');
    if (!list.length) {
      control('topleft', 'lf-scenarios', '<b>' + esc(t('scenario')) + '</b><br><span class="lf-empty">' + esc(t('no_scenarios')) + '</span>').addTo(map);
      return;
    }
    var options = list.map(function (s) {
      return '<option value="' + esc(s.name) + '">' + esc(s.name) + ' — ' + num(s.rain_mm, 0) + ' mm / ' + num(s.duration_h, 1) + ' h</option>';
    }).join('');
    var ctl = control('topleft', 'lf-scenarios', '<label><b>' + esc(t('scenario')) + '</b><br><select id="lf-scenario">' + options + '</select></label>');
    ctl.addTo(map);
    var select = ctl.getContainer().querySelector('select');
    select.value = list.some(function (s) { return s.name === wanted; }) ? wanted : list[0].name;
    select.addEventListener('change', function () { setScenario(select.value); });
    setScenario(select.value);
  }

  // --- legend -------------------------------------------------------------------------------
  function swatch(color, label, round) {
    return '<div class="lf-item"><span class="lf-swatch' + (round ? ' lf-round' : '') + '" style="background:' + color + '"></span>' + label + '</div>';
  }
  function legendHtml() {
    var html = '<h4>' + esc(t('legend')) + '</h4>', other = cfg().lang === 'vi' ? 'en' : 'vi';
    if (cfg().kind === 'land-use') {
      html += '<div class="lf-sub">' + esc(t('parcels_landuse')) + '</div>';
      cfg().legend.forEach(function (lu) {
        html += swatch(lu.color, '<b>' + esc(lu.code) + '</b> ' + esc(lu[cfg().lang]) + ' <span class="lf-other">/ ' + esc(lu[other]) + '</span>');
      });
      html += '<div class="lf-item"><span class="lf-line"></span>' + esc(t('admin')) + '</div>';
    } else {
      if (cfg().scenarios.some(function (s) { return s.has_depth; })) {
        html += '<div class="lf-sub">' + esc(t('depth')) + '</div><div class="lf-ramp">' + cfg().depthSteps.map(function (d) {
          return '<span style="background:' + d.color + '">≥ ' + num(d.min) + '</span>'; }).join('') + '</div>';
      }
      html += '<div class="lf-sub">' + esc(t('zones')) + ' · ' + esc(t('parcels_worst')) + '</div>';
      RISK.forEach(function (r) { html += swatch(RISK_COLORS[r], esc(t('risk_' + r))); });
      var water = (cfg().landUse || {})[(cfg().waterCodes || [])[0]];
      if (water) { html += swatch(water.color, esc(t('water'))); }
      html += swatch(HOTSPOT_COLOR, esc(t('hotspots')), true) + swatch(GAUGE_COLOR, esc(t('gauges')), true);
      if (!cfg().scenarios.length) { html += '<p class="lf-empty">' + esc(t('no_scenarios')) + '</p>'; }
    }
    return html + '<p class="lf-offline-note" hidden>' + esc(t('offline')) + '</p>' +
      (cfg().exportedAt ? '<p class="lf-empty">' + esc(t('exported')) + ' ' + esc(cfg().exportedAt) + '</p>' : '');
  }

  // --- search -------------------------------------------------------------------------------
  function searchHtml() {
    var wards = (cfg().wards || []).map(function (w) { return '<option value="' + esc(w.code) + '">' + esc(w.name) + ' (' + esc(w.code) + ')</option>'; }).join('');
    return '<form class="lf-search-text"><input type="search" name="q" placeholder="' + esc(t('search_placeholder')) +
      '" aria-label="' + esc(t('search')) + '"> <button type="submit">' + esc(t('find')) + '</button></form>' +
      '<form class="lf-search-key"><select name="ward" aria-label="' + esc(t('ward')) + '">' + wards + '</select> ' +
      '<input name="sheet" size="3" inputmode="numeric" placeholder="' + esc(t('sheet')) + '"> ' +
      '<input name="number" size="4" inputmode="numeric" placeholder="' + esc(t('number')) + '"> ' +
      '<button type="submit">' + esc(t('find')) + '</button></form><ul class="lf-results"></ul>';
  }

  function localSearch(text, id) {
    var needle = text.toLowerCase();
    return cfg().data.parcels.features.filter(function (f) {
      return id ? f.properties.parcel_id === id : String(f.properties.address || '').toLowerCase().indexOf(needle) >= 0;
    }).slice(0, 10);
  }

  function search(map, box, text, id) {
    var list = box.querySelector('.lf-results');
    list.innerHTML = '<li>' + esc(t('searching')) + '</li>';
    var found = embedded() ? Promise.resolve(localSearch(text, id)) : items('parcels', {limit: 10,
      filter: id ? 'parcel_id = ' + cqlString(id) : 'CASEI(address) LIKE CASEI(' + cqlString('%' + text.replace(/[%_\\]/g, '\\$&') + '%') + ')'
    }).then(function (fc) { return fc.features; });
    found.then(function (features) {
      list.innerHTML = features.length ? '' : '<li>' + esc(t('not_found')) + '</li>';
      features.forEach(function (f) {
        var li = L.DomUtil.create('li', '', list);
        li.innerHTML = '<a href="#">' + esc(f.properties.parcel_id) + '</a> ' + esc(f.properties.address || '');
        li.querySelector('a').addEventListener('click', function (ev) { ev.preventDefault(); zoomTo(map, f); });
      });
      if (features.length === 1) { zoomTo(map, features[0]); }
    }, function () { list.innerHTML = '<li>' + esc(t('error')) + '</li>'; });
  }

  function zoomTo(map, feature) {
    var bounds = L.geoJSON(feature).getBounds();
    map.fitBounds(bounds, {maxZoom: 19});
    showParcel(map, feature, bounds.getCenter());
  }

  function searchControl(map) {
    var ctl = control('topleft', 'lf-search', '<b>' + esc(t('search')) + '</b>' + searchHtml());
    ctl.addTo(map);
    var box = ctl.getContainer();
    box.querySelector('.lf-search-text').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = ev.target.q.value.trim(), m = text.match(/^([0-9A-Za-z]+)\s*[-\/ ,.]\s*(\d+)\s*[-\/ ,.]\s*(\d+)$/);
      if (text) { search(map, box, text, m ? m[1] + '-' + Number(m[2]) + '-' + Number(m[3]) : null); }
    });
    box.querySelector('.lf-search-key').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var f = ev.target, sheet = parseInt(f.sheet.value, 10), no = parseInt(f.number.value, 10);
      if (f.ward.value && sheet && no) { search(map, box, '', f.ward.value + '-' + sheet + '-' + no); }
    });
  }

  // --- officer sign-in, language, basemap fallback ----------------------------------------
  function accountControl(map) {
    var user = cfg().user, routes = cfg().routes, next = esc(location.pathname + location.search.replace(/[?&]signin=failed/, ''));
    var html;
    if (user) {
      html = '<form method="post" action="' + esc(routes.signOut) + '" class="lf-account">' + esc(t('signed_in_as')) +
        ': <b class="lf-user">' + esc(user.name) + '</b> (' + esc(user.role) + ') <input type="hidden" name="next" value="' + next +
        '"><input type="hidden" name="csrf" value="' + esc(cfg().csrf) + '"><button type="submit">' + esc(t('sign_out')) + '</button></form>';
    } else {
      html = '<details class="lf-account"' + (/signin=failed/.test(location.search) ? ' open' : '') + '><summary>' + esc(t('sign_in')) + '</summary>' +
        '<form method="post" action="' + esc(routes.signIn) + '"><input type="password" name="token" autocomplete="off" required placeholder="' +
        esc(t('token')) + '" aria-label="' + esc(t('token')) + '"><input type="hidden" name="next" value="' + next + '"><input type="hidden" name="csrf" value="' + esc(cfg().csrf) + '"> ' +
        '<button type="submit">' + esc(t('sign_in_button')) + '</button></form>' +
        (/signin=failed/.test(location.search) ? '<p class="lf-error">' + esc(t('sign_in_failed')) + '</p>' : '') + '</details>';
    }
    control('bottomleft', 'lf-account-box', html).addTo(map);
  }

  function navControl(map) {
    var other = cfg().lang === 'vi' ? 'en' : 'vi', params = new URLSearchParams(location.search);
    params.set('lang', other);
    params.delete('signin');
    control('topright', 'lf-nav', '<a href="' + esc(cfg().routes.home + '?lang=' + cfg().lang) + '">' + esc(t('home')) + '</a> · ' +
      '<a class="lf-lang" href="?' + esc(params.toString()) + '">' + esc(t('other_lang')) + '</a>').addTo(map);
  }

  function watchBasemap(map, basemap, plain) {
    var loaded = 0;
    basemap.on('tileload', function () { loaded += 1; });
    basemap.on('tileerror', function () {
      if (loaded || !map.hasLayer(basemap)) { return; }
      map.removeLayer(basemap);
      map.addLayer(plain);
      var note = document.querySelector('.lf-offline-note');
      if (note) { note.hidden = false; }
    });
  }

  function zoomHint(map) {
    var ctl = control('bottomleft', 'lf-zoom-hint', esc(t('zoom_in')));
    ctl.addTo(map);
    var min = cfg().parcelsMinZoom;
    function update() { ctl.getContainer().style.display = map.getZoom() < min ? '' : 'none'; }
    map.on('zoomend', update);
    update();
  }

  /** Everything but the layers, once folium has made the map, its layers and the layer control. */
  LF.start = function (map, basemap, plain) {
    LF.map = map;
    var params = new URLSearchParams(location.search);
    if (params.get('lat') && params.get('lon')) {
      map.setView([Number(params.get('lat')), Number(params.get('lon'))], Number(params.get('z')) || 17);
    } else if (cfg().fitBounds) {
      map.fitBounds(cfg().fitBounds);
    }
    if (basemap && plain) { watchBasemap(map, basemap, plain); }
    if (cfg().kind === 'flood-risk') { scenarioControl(map); }
    searchControl(map);
    control('bottomright', 'lf-legend', legendHtml()).addTo(map);
    if (!embedded()) {
      navControl(map);
      accountControl(map);
      map.on('click', onMapClick);
      zoomHint(map);
    }
    document.documentElement.setAttribute('data-lf-ready', '1');
  };
})();
