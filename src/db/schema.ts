import type { ColumnType, Generated, Selectable } from 'kysely';
import type { EventKind, LedgerKind, NotificationKind, OrderStatus, SplitType, StoreLedgerKind, TopUpStatus } from '../domain/kinds.js';

export type { EventKind, LedgerKind, NotificationKind, OrderStatus, SplitType, StoreLedgerKind, TopUpStatus };

/** Column types as the database returns them (bigint is parsed to number: KRW fits easily). */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UsersTable {
  id: string;
  email: string | null;
  name: string;
  credit: Generated<number>;
  address: string | null;
  lat: number | null;
  lon: number | null;
  version: Generated<number>;
  created_at: Timestamp;
}

export interface CategoriesTable {
  name: string;
  sort_order: Generated<number>;
}

export interface StoresTable {
  id: string;
  name: string;
  category: string;
  address: string;
  lat: number;
  lon: number;
  min_order_price: number;
  delivery_tip: number;
  delivery_minutes: number;
  // Metres; null: the service's DELIVERY_RADIUS_M.
  delivery_radius_m: number | null;
}

export interface MenusTable {
  id: string;
  store_id: string;
  name: string;
  price: number;
}

export interface CartItemsTable {
  user_id: string;
  menu_id: string;
  store_id: string;
  quantity: number;
  updated_at: Timestamp;
}

export interface OrdersTable {
  id: string;
  store_id: string;
  creator_id: string;
  joiner_id: string | null;
  split_type: SplitType;
  status: Generated<OrderStatus>;
  menu_total: number;
  joiner_menu_total: number | null;
  delivery_tip: number;
  delivery_address: string;
  delivery_lat: number;
  delivery_lon: number;
  version: Generated<number>;
  created_at: Timestamp;
  expires_at: Timestamp;
  rider_id: string | null;
  matched_at: Timestamp | null;
  accept_by: Timestamp | null;
  accepted_at: Timestamp | null;
  ready_at: Timestamp | null;
  picked_up_at: Timestamp | null;
  completed_at: Timestamp | null;
  rejected_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  expired_at: Timestamp | null;
}

export interface OrderItemsTable {
  id: Generated<number>;
  order_id: string;
  user_id: string;
  menu_id: string;
  name: string;
  unit_price: number;
  quantity: number;
}

export interface CreditLedgerTable {
  id: Generated<number>;
  user_id: string;
  kind: LedgerKind;
  amount: number;
  balance_after: number;
  order_id: string | null;
  top_up_id: string | null;
  created_at: Timestamp;
}

export interface TopUpsTable {
  id: string;
  user_id: string;
  amount: number;
  status: Generated<TopUpStatus>;
  demo: Generated<boolean>;
  payment_key: string | null;
  provider_key: string;
  failure_code: string | null;
  failure_message: string | null;
  check_attempts: Generated<number>;
  next_check_at: Timestamp | null;
  gave_up_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  settled_at: Timestamp | null;
}

export interface NotificationsTable {
  id: Generated<number>;
  user_id: string;
  order_id: string | null;
  kind: NotificationKind;
  message: string;
  read_at: Timestamp | null;
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  fingerprint: string;
  response_status: number;
  response_body: string;
  response_headers: ColumnType<Record<string, string>, Record<string, string>, Record<string, string>>;
  created_at: Timestamp;
}

export interface UserIdentitiesTable {
  provider: string;
  subject: string;
  user_id: string;
  created_at: Timestamp;
}

export type SessionRevocation = 'logout' | 'logout_all' | 'refresh_token_reused';

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_reason: SessionRevocation | null;
}

export interface RefreshTokensTable {
  token_hash: Uint8Array;
  session_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  spent_at: Timestamp | null;
  successor: Uint8Array | null;
}

export interface OidcLoginsTable {
  state_hash: Uint8Array;
  provider: string;
  code_verifier: string;
  nonce: string;
  expires_at: Timestamp;
}

export interface StoreStaffTable {
  user_id: string;
  store_id: string;
  granted_at: Timestamp;
}

export interface RidersTable {
  user_id: string;
  granted_at: Timestamp;
}

export interface StoreAccountsTable {
  store_id: string;
  balance: Generated<number>;
}

export interface StoreLedgerTable {
  id: Generated<number>;
  store_id: string;
  kind: StoreLedgerKind;
  amount: number;
  balance_after: number;
  order_id: string;
  created_at: Timestamp;
}

export interface OrderEventsTable {
  /** The writing transaction's id (xid8), as text: positions are compared in the database. */
  xid: ColumnType<string, never, never>;
  id: Generated<number>;
  user_id: string | null;
  store_id: string | null;
  kind: EventKind;
  order_id: string;
  status: OrderStatus;
  version: number;
  amount: number | null;
  at: Timestamp;
}

export interface EventTicketsTable {
  ticket_hash: Buffer;
  user_id: string;
  session_id: string;
  credential_expires_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface Database {
  users: UsersTable;
  categories: CategoriesTable;
  stores: StoresTable;
  menus: MenusTable;
  cart_items: CartItemsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  credit_ledger: CreditLedgerTable;
  notifications: NotificationsTable;
  idempotency_keys: IdempotencyKeysTable;
  user_identities: UserIdentitiesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  oidc_logins: OidcLoginsTable;
  store_staff: StoreStaffTable;
  riders: RidersTable;
  store_accounts: StoreAccountsTable;
  store_ledger: StoreLedgerTable;
  top_ups: TopUpsTable;
  order_events: OrderEventsTable;
  event_tickets: EventTicketsTable;
}

export type User = Selectable<UsersTable>;
export type Store = Selectable<StoresTable>;
export type Menu = Selectable<MenusTable>;
export type Order = Selectable<OrdersTable>;
export type OrderItem = Selectable<OrderItemsTable>;
export type LedgerEntry = Selectable<CreditLedgerTable>;
export type Notification = Selectable<NotificationsTable>;
export type StoreLedgerEntry = Selectable<StoreLedgerTable>;
export type TopUp = Selectable<TopUpsTable>;
