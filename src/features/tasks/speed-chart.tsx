import { useId } from 'react';
import { SPEED_SAMPLES, type SpeedSample } from '@/features/tasks/task-merge';

const WIDTH = 240;
const HEIGHT = 48;

interface Point {
  speed: number;
  asText: string;
}

/** Each speed's readings, by title, in the order the titles first appeared. */
function seriesOf(history: readonly SpeedSample[]): Map<string, Point[]> {
  const series = new Map<string, Point[]>();
  for (const sample of history) {
    for (const s of sample.speeds) {
      if (!Number.isFinite(s.speed)) continue;
      const points = series.get(s.title) ?? [];
      points.push({ speed: s.speed, asText: s.asText });
      series.set(s.title, points);
    }
  }
  return series;
}

function Sparkline({ title, points }: { title: string; points: Point[] }) {
  const captionId = useId();
  let low = points[0]!;
  let high = points[0]!;
  for (const p of points) {
    if (p.speed < low.speed) low = p;
    if (p.speed > high.speed) high = p;
  }
  const latest = points.at(-1)!;
  const span = high.speed - low.speed || 1;
  const step = points.length > 1 ? WIDTH / (points.length - 1) : 0;
  // Lowest at the bottom, highest at the top, with a pixel of room for the stroke.
  const y = (v: number) => (HEIGHT - 2 - ((v - low.speed) / span) * (HEIGHT - 4)).toFixed(1);
  const line = points.map((p, i) => `${(i * step).toFixed(1)},${y(p.speed)}`).join(' ');
  return (
    <figure className="speed-chart">
      <svg
        className="speed-chart__svg"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-labelledby={captionId}
        focusable="false"
      >
        <polyline points={`0,${HEIGHT} ${line} ${((points.length - 1) * step).toFixed(1)},${HEIGHT}`} className="speed-chart__area" />
        <polyline points={line} className="speed-chart__line" vectorEffect="non-scaling-stroke" />
      </svg>
      <figcaption id={captionId} className="speed-chart__caption">
        <span className="speed-chart__title">{title}</span>: now {latest.asText}; over the last {points.length} readings lowest {low.asText},
        highest {high.asText}.
      </figcaption>
      <details className="speed-chart__readings">
        <summary>Readings of {title}</summary>
        <ol aria-label={`Readings of ${title}, oldest first`}>
          {points.map((p, i) => (
            <li key={i}>{p.asText}</li>
          ))}
        </ol>
      </details>
    </figure>
  );
}

/**
 * The task's recent speeds as small line charts (the last SPEED_SAMPLES readings), one per speed it reports; each
 * chart is an image named by its caption (now, lowest, highest), and its readings are a list beside it.
 */
export function SpeedChart({ history }: { history: readonly SpeedSample[] }) {
  const series = [...seriesOf(history)].filter(([, points]) => points.length >= 2);
  if (series.length === 0) return null;
  return (
    <section className="speed-charts" aria-label="Recent speeds">
      <h3 className="task-detail__subheading">
        Recent speeds <span className="muted">(up to the last {SPEED_SAMPLES} readings)</span>
      </h3>
      {series.map(([title, points]) => (
        <Sparkline key={title} title={title} points={points} />
      ))}
    </section>
  );
}
