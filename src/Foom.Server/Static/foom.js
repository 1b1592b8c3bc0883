// Foom's pages in the browser: line charts drawn by uPlot and the flame graph by d3-flame-graph
// (both vendored by Static/vendor.sh). Each chart's data sits beside it as JSON in a
// <script type="application/json"> element written by the server (Pages/Charts.cs).
(function () {
    'use strict';

    var palette = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

    function bytes(v) {
        if (v === null || v === undefined) return '';
        var x = Math.abs(v), i = 0;
        while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
        var text = i === 0 ? x.toFixed(0) : x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0);
        return (v < 0 ? '-' : '') + text + ' ' + units[i];
    }

    function percent(v) {
        if (v === null || v === undefined) return '';
        var p = v * 100;
        return (p < 10 ? +p.toFixed(2) : +p.toFixed(1)) + ' %';
    }

    function count(v) {
        return v === null || v === undefined ? '' : Math.round(v).toLocaleString('en');
    }

    function seconds(v) {
        return v === null || v === undefined ? '' : +v.toFixed(1) + ' s';
    }

    function day(v) {
        return v === null || v === undefined ? '' : new Date(v * 1000).toISOString().slice(0, 10);
    }

    function dataOf(element) {
        return JSON.parse(element.querySelector('script[type="application/json"]').textContent);
    }

    // Warnings as elements over the plot (uPlot's .u-over covers exactly the plotting area), so
    // they can never sit over the axes, and a hover names them.
    function placeMarkers(u, markers) {
        u.over.querySelectorAll('.marker').forEach(function (m) { m.remove(); });
        markers.forEach(function (m) {
            var left = u.valToPos(m.x, 'x');
            var mark = document.createElement('div');
            mark.className = 'marker';
            mark.title = m.label;
            mark.style.left = left + 'px';
            u.over.appendChild(mark);
        });
    }

    function lineChart(figure) {
        var d = dataOf(figure);
        var plot = figure.querySelector('.plot');
        var yFormat = d.y_axis === 'bytes' ? bytes : d.y_axis === 'count' ? count : percent;
        var byDay = d.x_axis === 'day';
        var markers = d.markers || [];
        var xs = d.xs.concat(markers.map(function (m) { return m.x; }));
        var xMin = Math.min.apply(null, xs), xMax = Math.max.apply(null, xs);
        // One x (one day, one sample) still gets an axis around it instead of a bare point.
        if (xMax <= xMin) { var pad = byDay ? 43200 : 1; xMin -= pad; xMax += pad; }
        var series = [{ label: byDay ? 'day' : 'time', value: function (u, v) { return byDay ? day(v) : seconds(v); } }];
        d.series.forEach(function (s, i) {
            var known = s.values.filter(function (v) { return v !== null; }).length;
            series.push({
                label: s.name,
                stroke: s.dashed ? '#c92a2a' : palette[i % palette.length],
                width: s.dashed ? 1.5 : 2,
                dash: s.dashed ? [6, 4] : undefined,
                spanGaps: false,
                points: { show: !s.dashed && known <= 60, size: 6 },
                value: function (u, v) { return yFormat(v); },
            });
        });
        var options = {
            width: Math.max(320, Math.min(760, plot.clientWidth || 760)),
            height: 240,
            tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
            scales: {
                x: { time: byDay, range: function () { return [xMin, xMax]; } },
                y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; } },
            },
            axes: [
                byDay ? {} : { values: function (u, ticks) { return ticks.map(seconds); } },
                { size: 72, values: function (u, ticks) { return ticks.map(yFormat); } },
            ],
            series: series,
            hooks: { draw: [function (u) { placeMarkers(u, markers); }] },
        };
        figure.plot = new uPlot(options, [d.xs].concat(d.series.map(function (s) { return s.values; })), plot);
    }

    function flameGraph(box) {
        var tree = dataOf(box);
        var target = box.querySelector('.flame-graph');
        var details = box.querySelector('.flame-details');
        var total = tree.value || 1;
        function label(n) {
            var where = n.data.file ? '  at ' + n.data.file + (n.data.line ? ':' + n.data.line : '') : '';
            return n.data.name + ' — ' + bytes(n.value) + ' (' + percent(n.value / total) + ')' + where;
        }
        var tip = flamegraph.tooltip.defaultFlamegraphTooltip().text(label);
        var chart = flamegraph.default()
            .width(Math.max(600, target.clientWidth || 1100))
            .cellHeight(18)
            .minFrameSize(1)
            .transitionDuration(250)
            .tooltip(tip)
            .setLabelHandler(label)
            .setDetailsElement(details)
            .setColorMapper(function (n, color) {
                if (n.highlight) return '#e64980';
                return n.data.name.charAt(0) === '▣' ? '#74c0fc' : color;
            })
            .setSearchMatch(function (n, term) {
                return !!term && n.data.name.toLowerCase().indexOf(term.toLowerCase()) >= 0;
            })
            .setSearchHandler(function (results, sum) {
                details.textContent = results.length + ' frame(s) match, ' + bytes(sum) + ' (' + percent(sum / total) + ')';
            });
        d3.select(target).datum(tree).call(chart);
        var search = box.querySelector('.flame-search');
        search.addEventListener('input', function () {
            if (search.value) chart.search(search.value); else { chart.clear(); details.textContent = ''; }
        });
        box.querySelector('.flame-reset').addEventListener('click', function () {
            search.value = '';
            chart.clear();
            chart.resetZoom();
            details.textContent = '';
        });
        box.chart = chart;
    }

    document.querySelectorAll('figure[data-chart="line"]').forEach(function (figure) {
        if (figure.querySelector('.plot')) lineChart(figure);
    });
    document.querySelectorAll('[data-flame]').forEach(flameGraph);
})();
