// The evidence over the last minute, with the two lines the decision uses: reaching the upper
// one (accept) makes VERIFIED, falling to the lower one (reject) makes MISMATCH.
"use strict";

class EvidencePlot {
  constructor(canvas, seconds = 60) {
    this.canvas = canvas;
    this.seconds = seconds;
    this.clear();
  }

  clear() {
    this.samples = []; // [seconds since the call started, evidence or null]
    this.bounds = null; // [accept, reject], as the server sends them
    this.draw(0);
  }

  add(time, score, bounds) {
    this.samples.push([time, score]);
    while (this.samples.length && this.samples[0][0] < time - this.seconds) this.samples.shift();
    if (bounds) this.bounds = bounds;
    this.draw(time);
  }

  // The evidence axis: both lines and every sample, with a margin.
  range() {
    const values = this.samples.map((s) => s[1]).filter((v) => v !== null);
    if (this.bounds) values.push(...this.bounds);
    if (!values.length) return [-1, 1];
    return [Math.min(...values) - 1, Math.max(...values) + 1];
  }

  // The pixel row of an evidence value (lines are drawn through the row's middle: crisp).
  y(value) {
    const [low, high] = this.range();
    const { height } = this.canvas;
    return Math.round(height - 6 - ((value - low) / (high - low)) * (height - 20));
  }

  line(ctx, value, colour, label) {
    const y = this.y(value) + 0.5;
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(this.canvas.width, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillText(`${label} ${value >= 0 ? "+" : ""}${value}`, 4, y - 3);
  }

  draw(now) {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    ctx.fillStyle = "#fafafc";
    ctx.fillRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    if (!this.bounds) {
      ctx.fillStyle = "#888";
      ctx.fillText("The evidence shows here once verifying starts.", 8, height / 2);
      return;
    }
    this.line(ctx, this.bounds[0], "#2a8a2a", "VERIFIED at");
    this.line(ctx, this.bounds[1], "#c02828", "MISMATCH at");
    ctx.strokeStyle = "#223";
    ctx.lineWidth = 2;
    ctx.beginPath();
    let drawing = false;
    for (const [time, score] of this.samples) {
      if (score === null) { drawing = false; continue; }
      const x = width - ((now - time) / this.seconds) * width;
      const y = this.y(score) + 0.5;
      if (drawing) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      drawing = true;
    }
    ctx.stroke();
    ctx.fillStyle = "#888";
    ctx.fillText(`evidence, last ${this.seconds} s`, width - 120, 11);
  }
}
