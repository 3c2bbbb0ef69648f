/**
 * Where job interfaces live: each job on an origin of its own, `job-<id>.<domain>`. The default domain is
 * `localhost`, since browsers resolve every `*.localhost` name to this machine; production sets a wildcard domain
 * (JOBDECK_INTERFACE_DOMAIN=https://jobs.example.org, with `*.jobs.example.org` pointing at Jobdeck).
 */
export interface InterfaceDomain {
  scheme: 'http' | 'https';
  /** Lower case, without the port. */
  hostname: string;
  /**
   * The port in interface URLs; null means the port this server listens on, which is what a bare domain means
   * (`localhost`); a domain given with its scheme and no port (`https://jobs.example.org`) is on the scheme's port.
   */
  port: number | null;
}

const DOMAIN = /^(?:(https?):\/\/)?([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?\/?$/i;

export function parseInterfaceDomain(raw: string, name = 'JOBDECK_INTERFACE_DOMAIN'): InterfaceDomain {
  const match = DOMAIN.exec(raw.trim());
  const scheme = match?.[1]?.toLowerCase() as 'http' | 'https' | undefined;
  const port = match?.[3] !== undefined ? Number(match[3]) : scheme === undefined ? null : scheme === 'https' ? 443 : 80;
  if (!match || (port !== null && (port < 1 || port > 65535))) {
    throw new Error(`${name} must be a domain, optionally with a scheme and a port (localhost, https://jobs.example.org), got '${raw}'`);
  }
  return { scheme: scheme ?? 'http', hostname: match[2]!.toLowerCase(), port };
}

/** The job an interface request is for, from its Host header; null for any other host (the dashboard's). */
export function jobIdOfHost(domain: InterfaceDomain, host: string | undefined): string | null {
  if (!host) return null;
  // `job-<id>.<domain>`, with any port: behind a reverse proxy the port the browser used is not ours.
  const at = host.indexOf('.');
  if (at < 5 || host.slice(0, 4).toLowerCase() !== 'job-') return null;
  const id = host.slice(4, at);
  if (!/^[0-9]{1,18}$/.test(id)) return null;
  const rest = host.slice(at + 1).toLowerCase();
  const colon = rest.lastIndexOf(':');
  const hostname = colon >= 0 && /^\d+$/.test(rest.slice(colon + 1)) ? rest.slice(0, colon) : rest;
  return hostname === domain.hostname || hostname === `${domain.hostname}.` ? id : null;
}

/** The origin of a job's interface, e.g. `http://job-4150.localhost:8080`. */
export function interfaceOrigin(domain: InterfaceDomain, jobId: string, listeningPort: number): string {
  const port = domain.port ?? listeningPort;
  const defaultPort = domain.scheme === 'https' ? 443 : 80;
  return `${domain.scheme}://job-${jobId}.${domain.hostname}${port === defaultPort ? '' : `:${port}`}`;
}
