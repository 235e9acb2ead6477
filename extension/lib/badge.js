/**
 * @file Paint the toolbar badge. The look (text, colour, title) comes from the core's badge
 * table (`view.badge`), so the extension and the widget can never disagree.
 */

/**
 * @param {{ text: string, color: string, title: string }} badge `view.badge` from the core
 * @returns {Promise<void>}
 */
export async function renderBadge(badge) {
  await Promise.all([
    chrome.action.setBadgeText({ text: badge.text }),
    chrome.action.setBadgeBackgroundColor({ color: badge.color }),
    // White text on every badge colour in the table (green, red, grey); Chrome 110+, Firefox 63+.
    chrome.action.setBadgeTextColor?.({ color: '#ffffff' }),
    chrome.action.setTitle({ title: badge.title }),
  ]);
}
