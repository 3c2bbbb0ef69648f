/** One job beside this one in the graph: who it is, the hostname on the edge, and whether it has ended. */
export interface GraphNode {
  id: string;
  name: string;
  hostname: string;
  ended: boolean;
}

const BOX_W = 160;
/** Between columns: room for an arrow and the hostname on it. */
const GAP = 130;
const BOX_H = 34;
const ROW = 46;
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
 * Who reaches whom, as a picture: jobs that connect to this one on the left, this job in the middle, the jobs it
 * connects to on the right; each arrow carries the hostname it is reached under, an ended job is dashed. The SVG
 * is an image named by the same facts in words; the lists beside it are the way to act on them.
 */
export function ConnectionGraph({ self, reaches, reachedBy }: { self: { id: string; name: string; ended: boolean }; reaches: readonly GraphNode[]; reachedBy: readonly GraphNode[] }) {
  if (reaches.length === 0 && reachedBy.length === 0) return null;
  const rows = Math.max(reaches.length, reachedBy.length, 1);
  const height = rows * ROW + PAD * 2 - (ROW - BOX_H);
  // Columns only for sides that have jobs: reachers, this job, reached.
  const leftX = PAD;
  const centreX = reachedBy.length > 0 ? leftX + BOX_W + GAP : PAD;
  const rightX = centreX + BOX_W + GAP;
  const WIDTH = (reaches.length > 0 ? rightX + BOX_W : centreX + BOX_W) + PAD;
  const centreY = (height - BOX_H) / 2;
  const column = (count: number, i: number) => PAD + ((rows - count) * ROW) / 2 + i * ROW;
  const edge = (x1: number, y1: number, x2: number, y2: number, hostname: string, ended: boolean, key: string) => (
    <g key={key} className={`graph-edge${ended ? ' graph-edge--ended' : ''}`}>
      <line x1={x1} y1={y1} x2={x2 - 4} y2={y2} markerEnd="url(#graph-arrow)" />
      <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 5} textAnchor="middle" className="graph-edge__label">
        {clip(hostname, 16)}
      </text>
    </g>
  );
  return (
    <svg
      className="connection-graph"
      viewBox={`0 0 ${WIDTH} ${height}`}
      // Never drawn larger than its own size: the text stays the size of the page's.
      style={{ maxWidth: WIDTH }}
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
        const y = column(reachedBy.length, i);
        return edge(leftX + BOX_W, y + BOX_H / 2, centreX, centreY + BOX_H / 2, n.hostname, n.ended, `in-${n.id}-${n.hostname}`);
      })}
      {reaches.map((n, i) => {
        const y = column(reaches.length, i);
        return edge(centreX + BOX_W, centreY + BOX_H / 2, rightX, y + BOX_H / 2, n.hostname, n.ended, `out-${n.id}-${n.hostname}`);
      })}
      {reachedBy.map((n, i) => (
        <Box key={`in-${n.id}-${n.hostname}`} x={leftX} y={column(reachedBy.length, i)} label={n.name} sub={`#${n.id}${n.ended ? ' · ended' : ''}`} tone={n.ended ? 'ended' : 'peer'} />
      ))}
      <Box x={centreX} y={centreY} label={self.name} sub={`#${self.id} · this job`} tone={self.ended ? 'ended' : 'self'} />
      {reaches.map((n, i) => (
        <Box key={`out-${n.id}-${n.hostname}`} x={rightX} y={column(reaches.length, i)} label={n.name} sub={`#${n.id}${n.ended ? ' · ended' : ''}`} tone={n.ended ? 'ended' : 'peer'} />
      ))}
    </svg>
  );
}
