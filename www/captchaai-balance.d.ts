/**
 * Types of `<captchaai-balance>` (captchaai-balance.js): its attributes, its properties and the
 * detail of its `balancechange` event. The core's types (levels, money, error codes, providers,
 * the whole view) come from the wasm module's declarations, generated from its Rust types.
 */
import type {
  AccountView,
  BalanceLevel,
  ErrorCode,
  Money,
  ProviderId,
  WidgetState,
} from './captchaai_balance.js';

export type { AccountView, BalanceLevel, ErrorCode, Money, ProviderId } from './captchaai_balance.js';

/** The `state` attribute the element reflects: the core's `AccountView.state`. */
export type BalanceState = WidgetState;

/** What the element itself reports when the core never got to speak (the module did not load). */
export type WidgetError = 'wasm_load' | 'invalid_settings';

/** `event.detail` of `balancechange` (bubbles, composed). Texts are localized by the core. */
export interface BalanceChangeDetail {
  /** The balance as an exact decimal string (`"12.345"`), null without a reading. */
  balance: Money | null;
  /** The balance as shown (`"$12.3450"`), null without a reading. */
  balanceText: AccountView['balanceText'];
  level: BalanceLevel;
  /**
   * Where the account stands: the money's level, `error` when the latest check failed with
   * nothing read, `plan_expired` for a thread plan with no threads (CaptchaAI: no job runs
   * though the money is fine), which needs someone as `low` and `empty` do.
   */
  status: AccountView['status'];
  /** The level's label as shown, null without a reading. */
  levelText: string | null;
  /** The reading is older than the core's staleness limit. */
  stale: boolean;
  /** The error's code (`"key_not_found"`, `"wasm_load"`, …), null when the last check worked. */
  error: ErrorCode | WidgetError | null;
  /** The error's sentence, null without an error. */
  message: string | null;
  /** Seconds until the balance runs out at the current spend, null when there is no forecast. */
  runwaySeconds: number | null;
  /** Spend per hour as an exact decimal string, null when there is no forecast. */
  spendPerHour: Money | null;
  /** A thread plan's threads (CaptchaAI; 0: no active plan), null for other providers or before a reading. */
  threads: number | null;
  /** Its busy threads, null as `threads`. */
  workingThreads: number | null;
}

/** The attributes the element reads (all optional). */
export interface CaptchaaiBalanceAttributes {
  /** Base URL of captchaai-balance-server (server mode), or of the provider API (direct mode). */
  endpoint?: string;
  /** Direct mode only (a quick trial): the provider's API key. Prefer server mode. */
  'api-key'?: string;
  /** Provider id of the core's table; default `captchaai`. */
  provider?: ProviderId;
  /** A server account's name (server mode). */
  account?: string;
  /** Low-balance threshold, a decimal string. */
  threshold?: string;
  /** Seconds between readings, at least 60. */
  interval?: string;
  /** `en` or `id` (a language tag; default: the page's language). */
  lang?: string;
  /** Boolean attribute: one line. */
  compact?: boolean | '';
  /** Boolean attribute: a sparkline of the last 24 h. */
  history?: boolean | '';
}

export interface CaptchaaiBalanceEventMap extends HTMLElementEventMap {
  balancechange: CustomEvent<BalanceChangeDetail>;
}

/** The `<captchaai-balance>` element. */
export declare class CaptchaaiBalance extends HTMLElement {
  static readonly observedAttributes: string[];
  /** The key as a property instead of the `api-key` attribute; reading it gives the masked form. */
  get apiKey(): string;
  set apiKey(value: string | null);
  /** Ask for a fresh reading now (what the Refresh button does). */
  refresh(): Promise<void>;
  addEventListener<K extends keyof CaptchaaiBalanceEventMap>(
    type: K,
    listener: (this: CaptchaaiBalance, ev: CaptchaaiBalanceEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof CaptchaaiBalanceEventMap>(
    type: K,
    listener: (this: CaptchaaiBalance, ev: CaptchaaiBalanceEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

/** Where the .wasm and the text catalogs come from (the `./esbuild` entry sets them). */
export interface CaptchaaiBalanceAssets {
  wasm?: URL | string;
  /** Language -> the catalog's text, or its parsed JSON (a JSON module namespace works too). */
  catalogs?: Record<string, () => Promise<string | object>>;
}

/** Replace where the .wasm and the catalogs come from; call before the first widget connects. */
export declare function setAssets(assets: CaptchaaiBalanceAssets): void;

declare global {
  interface HTMLElementTagNameMap {
    'captchaai-balance': CaptchaaiBalance;
  }
}
