/** One job beside this one in the graph: who it is, the hostname on the edge, and whether it has ended. */
export interface GraphNode {
  id: string;
  name: string;
  hostname: string;
  ended: boolean;
}

const BOX_W = 160;
const BOX_H = 34;
/** Between boxes side by side. */
const HGAP = 16;
/** Between rows: room for the arrow and the hostname beside it. */
const VGAP = 52;
const PAD = 8;

const clip = (text: string, max = 19) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** "shop-frontend reaches my-database as database. analytics reaches shop-frontend as web." */
export function describeGraph(self: string, reaches: readonly GraphNode[], reachedBy: readonly GraphNode[]): string {
  const out = reaches.map((n) => `${self} reaches ${n.name} (#${n.id}) as ${n.hostname}${n.ended ? ', which has ended' : ''}.`);
  const inn = reachedBy.map((n) => `${n.name} (#${n.id})${n.ended ? ', which has ended,' : ''} reaches ${self} as ${n.hostname}.`);
  return [...inn, ...out].join(' ');
}

function Box({ x, y, label, sub, tone }: { x: number; y: number; label: string; sub: string; tone: 'self' | 'peer' | 'ended' }) {
  return (
    <g className={`graph-node graph-node--${tone}`}>
      <rect x={x} y={y} width={BOX_W} height={BOX_H} rx={6} />
      <text x={x + BOX_W / 2} y={y + 15} textAnchor="middle" className="graph-node__name">
        {clip(label)}
      </text>
      <text x={x + BOX_W / 2} y={y + 28} textAnchor="middle" className="graph-node__sub">
        {sub}
      </text>
    </g>
  );
}

/**
 * Who reaches whom, as a picture, top to bottom (so one job a row fits a phone at full size): the jobs that connect
 * to this one, this job, the jobs it connects to; each arrow carries the hostname it is reached under, an ended job
 * is dashed. The SVG is an image named by the same facts in words; the lists beside it are the way to act on them.
 */
export function ConnectionGraph({ self, reaches, reachedBy }: { self: { id: string; name: string; ended: boolean }; reaches: readonly GraphNode[]; reachedBy: readonly GraphNode[] }) {
  if (reaches.length === 0 && reachedBy.length === 0) return null;
  const columns = Math.max(reaches.length, reachedBy.length, 1);
  const width = columns * BOX_W + (columns - 1) * HGAP + 2 * PAD;
  const topY = PAD;
  const selfY = reachedBy.length > 0 ? topY + BOX_H + VGAP : PAD;
  const bottomY = selfY + BOX_H + VGAP;
  const height = (reaches.length > 0 ? bottomY : selfY) + BOX_H + PAD;
  /** The left edge of box `i` of a row of `count`, the row centred. */
  const x = (count: number, i: number) => (width - (count * BOX_W + (count - 1) * HGAP)) / 2 + i * (BOX_W + HGAP);
  const selfX = x(1, 0);
  const edge = (x1: number, y1: number, x2: number, y2: number, hostname: string, ended: boolean, key: string) => (
    <g key={key} className={`graph-edge${ended ? ' graph-edge--ended' : ''}`}>
      <line x1={x1} y1={y1} x2={x2} y2={y2 - 4} markerEnd="url(#graph-arrow)" />
      <text x={(x1 + x2) / 2 + 6} y={(y1 + y2) / 2 + 4} textAnchor="start" className="graph-edge__label">
        {clip(hostname, 16)}
      </text>
    </g>
  );
  return (
    <svg
      className="connection-graph"
      viewBox={`0 0 ${width} ${height}`}
      // Never drawn larger than its own size: the text stays the size of the page's.
      style={{ maxWidth: width }}
      role="img"
      aria-label={`Connections: ${describeGraph(self.name, reaches, reachedBy)}`}
      focusable="false"
    >
      <defs>
        <marker id="graph-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" className="graph-arrow" />
        </marker>
      </defs>
      {reachedBy.map((n, i) => {
        const from = x(reachedBy.length, i) + BOX_W / 2;
        return edge(from, topY + BOX_H, selfX + BOX_W / 2, selfY, n.hostname, n.ended, `in-${n.id}-${n.hostname}`);
      })}
      {reaches.map((n, i) => {
        const to = x(reaches.length, i) + BOX_W / 2;
        return edge(selfX + BOX_W / 2, selfY + BOX_H, to, bottomY, n.hostname, n.ended, `out-${n.id}-${n.hostname}`);
      })}
      {reachedBy.map((n, i) => (
        <Box key={`in-${n.id}-${n.hostname}`} x={x(reachedBy.length, i)} y={topY} label={n.name} sub={`#${n.id}${n.ended ? ' · ended' : ''}`} tone={n.ended ? 'ended' : 'peer'} />
      ))}
      <Box x={selfX} y={selfY} label={self.name} sub={`#${self.id} · this job`} tone={self.ended ? 'ended' : 'self'} />
      {reaches.map((n, i) => (
        <Box key={`out-${n.id}-${n.hostname}`} x={x(reaches.length, i)} y={bottomY} label={n.name} sub={`#${n.id}${n.ended ? ' · ended' : ''}`} tone={n.ended ? 'ended' : 'peer'} />
      ))}
    </svg>
  );
}
