import { TransportError, isSuccess, type HttpResult } from './transport';

/*
 * One bulk request and what follows from its answer, for both directions of the protocol: the core's calls to a
 * provider (jobs/provider-gateway.ts) and a provider's updates to the core (outbox.ts). A bulk request is never
 * half-applied, so when the receiver refuses one of several items it refuses them all; each is then sent alone, so
 * that the one it refuses is dropped and the rest go through.
 */

/** Why a batch stays queued: no answer at all, or an answer that says to try again later. */
export type Failure = { reached: false; message: string } | { reached: true; result: HttpResult };

export interface BatchDelivery<T> {
  /** Sends one request for the batch. Throws TransportError without an answer; null when it did not send now. */
  send(batch: T[]): Promise<HttpResult | null>;
  /** Whether an answer with this status judged the request itself (a bad item), so sending it again cannot help. */
  isRefusal(status: number): boolean;
  /** The receiver took the batch. */
  delivered(batch: T[], result: HttpResult): Promise<void>;
  /** The receiver refused this item, alone: it is dropped. */
  refused(item: T, result: HttpResult): Promise<void>;
  /** The batch stays queued, to be sent again later. */
  failed(batch: T[], failure: Failure): Promise<void>;
}

export type Outcome = 'delivered' | 'retry';

/**
 * Delivers `batch` in one request, or item by item after a refusal. 'retry' means delivery stopped at an item that
 * could not go now; the items before it are delivered (or dropped as refused), it and the rest are not.
 */
export async function deliver<T>(batch: T[], how: BatchDelivery<T>): Promise<Outcome> {
  let result: HttpResult | null;
  try {
    result = await how.send(batch);
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    await how.failed(batch, { reached: false, message: error.message });
    return 'retry';
  }
  if (result === null) return 'retry';
  if (isSuccess(result.status)) {
    await how.delivered(batch, result);
    return 'delivered';
  }
  if (!how.isRefusal(result.status)) {
    await how.failed(batch, { reached: true, result });
    return 'retry';
  }
  if (batch.length > 1) {
    for (const item of batch) {
      if ((await deliver([item], how)) === 'retry') return 'retry';
    }
    return 'delivered';
  }
  await how.refused(batch[0]!, result);
  return 'delivered';
}
