/** Words and fixed choices of the watch layout (C15). */

/** "3 unread messages", "1 unread message", or '' for none. */
export const unreadWords = (n: number): string => (n > 0 ? `${n} unread ${n === 1 ? 'message' : 'messages'}` : '');

/** Canned replies: short enough to read and tap on a watch, common enough to be useful. */
export const QUICK_REPLIES: readonly string[] = ['OK', 'Yes', 'No', 'On my way', 'Call you later', 'Thanks!'];

/** Emoji sent as a reply, and the reactions offered on a message (the phone layout's six). */
export const QUICK_EMOJI: readonly string[] = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

/** How many of a chat's newest messages the watch shows. */
export const WATCH_HISTORY = 20;
