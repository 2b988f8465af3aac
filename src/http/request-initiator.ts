import type { FastifyRequest } from 'fastify';
import type { Initiator } from '../operations/initiator.js';

/** The header the `wa-runtime` CLI sends, naming its user: `cli <user>@<host>`. */
export const CLIENT_HEADER = 'x-wa-runtime-client';

const CLI_CLIENT = /^cli [A-Za-z0-9._@-]{1,100}$/;

/**
 * Who an admin request comes from, for the audit: the CLI says so in its header (it holds
 * the admin token like any other client, so the header only labels, it grants nothing);
 * anything else is the HTTP API, named by its address.
 */
export function requestInitiator(request: FastifyRequest): Initiator {
  const client = request.headers[CLIENT_HEADER];
  if (typeof client === 'string' && CLI_CLIENT.test(client)) return { frontEnd: 'cli', who: `${client} via ${request.ip}` };
  return { frontEnd: 'http', who: `http ${request.ip}` };
}
