/**
 * Link previews (C15), made on the sending device and carried inside the end-to-end-encrypted text
 * message: the page's title, description and a small image as bytes. A receiver shows them and
 * fetches nothing, so neither the server nor the site learns who read the message. Every receiver
 * checks the limits below again, as part of the content schema.
 */
import { z } from 'zod';
import { b64 } from './common.ts';

/** Limits of a preview, on the sending device's fetch and in the message. */
export const LINK_PREVIEW_LIMITS = {
  /** Longest address a preview is made for. */
  urlChars: 2048,
  titleChars: 300,
  descriptionChars: 1000,
  /** The image's bytes inside the message (a small JPEG or PNG thumbnail). */
  imageBytes: 48 * 1024,
  /** Most bytes of a page read; a longer page gets no preview. */
  pageBytes: 512 * 1024,
  /** Most bytes of an image fetched before it is made smaller. */
  imageFetchBytes: 2 * 1024 * 1024,
  /** How long the sender's device waits for a page (and again for its image). */
  fetchMs: 5000,
} as const;

/** Image types a preview may carry. */
export const LINK_PREVIEW_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;

/** The preview of the first link in a text message. */
export const linkPreviewSchema = z.object({
  /** The page the preview is of: http or https only. */
  url: z
    .string()
    .max(LINK_PREVIEW_LIMITS.urlChars)
    .regex(/^https?:\/\/[^\s]+$/i, 'must be an http or https address'),
  title: z.string().min(1).max(LINK_PREVIEW_LIMITS.titleChars),
  description: z.string().min(1).max(LINK_PREVIEW_LIMITS.descriptionChars).optional(),
  /** The image itself (base64url), never an address a receiver would fetch. */
  image: z.object({ type: z.enum(LINK_PREVIEW_IMAGE_TYPES), data: b64(LINK_PREVIEW_LIMITS.imageBytes) }).optional(),
});
export type LinkPreview = z.infer<typeof linkPreviewSchema>;
