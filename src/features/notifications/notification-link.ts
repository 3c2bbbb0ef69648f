import type { Location } from 'react-router-dom';
import { TASK_DETAIL_PARAM } from '@/api/tasks';
import type { NotificationTarget } from '@/features/notifications/notification-model';

export function targetHref(target: NotificationTarget, location: Pick<Location, 'pathname' | 'search'>): string {
  if (target.type === 'job') return `/jobs/${encodeURIComponent(target.id)}`;
  const params = new URLSearchParams(location.search);
  params.set(TASK_DETAIL_PARAM, target.id);
  return `${location.pathname}?${params.toString()}`;
}
