/**
 * The outbound HTTPS GET port, for what a webhook makes Chapar fetch: Amazon SNS signing
 * certificates and subscription confirmation links. One adapter (adapters/feedback/https-get.ts)
 * makes real requests; tests pass a function that answers from fixtures and records the URLs.
 */
export type HttpsGet = (url: string) => Promise<HttpsGetAnswer>;

/** What came back: the status and the body as text (both uses are small text documents). */
export interface HttpsGetAnswer {
  status: number;
  body: string;
}
