import { sql } from 'kysely';
import { v5 as uuidv5 } from 'uuid';
import type { Db } from './database.js';

// Demo ids are derived from names, so every database seeded with this data agrees on them.
const DEMO_NAMESPACE = '5f0c8a4e-2d1b-4c7e-9a3f-6b8d0e1f2a3b';
const demoId = (name: string) => uuidv5(name, DEMO_NAMESPACE);

const CATEGORIES = ['치킨', '피자', '한식', '중식', '분식'];

type DemoStore = [
  name: string,
  category: string,
  address: string,
  lat: number,
  lon: number,
  minimum: number,
  tip: number,
  minutes: number,
  menus: [string, number][],
];

// Two real neighbourhoods: around Jeonbuk National University (Jeonju) and Gangnam station (Seoul).
const STORES: DemoStore[] = [
  [
    '교촌치킨 전북대점',
    '치킨',
    '전북 전주시 덕진구 명륜4길 12',
    35.8471,
    127.1302,
    16000,
    3000,
    35,
    [
      ['허니콤보', 23000],
      ['교촌오리지날', 19000],
      ['레드콤보', 23000],
      ['살살치킨', 20000],
      ['치즈볼', 5000],
    ],
  ],
  [
    'BBQ 덕진점',
    '치킨',
    '전북 전주시 덕진구 권삼득로 301',
    35.8459,
    127.1285,
    18000,
    3500,
    40,
    [
      ['황금올리브', 21000],
      ['자메이카 통다리', 22000],
      ['양념치킨', 21500],
      ['콜라 1.25L', 2500],
    ],
  ],
  [
    '도미노피자 전북대점',
    '피자',
    '전북 전주시 덕진구 백제대로 571',
    35.848,
    127.131,
    20000,
    2000,
    45,
    [
      ['포테이토 피자 L', 27900],
      ['페퍼로니 피자 L', 24900],
      ['슈퍼 디럭스 L', 29900],
      ['치즈 오븐 스파게티', 8900],
    ],
  ],
  [
    '피자스쿨 금암점',
    '피자',
    '전북 전주시 덕진구 기린대로 418',
    35.8452,
    127.1275,
    12000,
    1500,
    30,
    [
      ['치즈피자', 9900],
      ['고구마피자', 12900],
      ['콤비네이션', 12900],
      ['핫윙 6조각', 6900],
    ],
  ],
  [
    '전주밥상 덕진',
    '한식',
    '전북 전주시 덕진구 덕진동1가 1270',
    35.8465,
    127.132,
    15000,
    3000,
    30,
    [
      ['전주비빔밥', 11000],
      ['콩나물국밥', 8000],
      ['제육볶음', 10000],
      ['김치찌개', 9000],
    ],
  ],
  [
    '명륜 순두부',
    '한식',
    '전북 전주시 덕진구 명륜3길 8',
    35.8476,
    127.1291,
    12000,
    2500,
    25,
    [
      ['해물순두부', 9500],
      ['고기순두부', 9500],
      ['된장찌개', 8500],
      ['공깃밥', 1000],
    ],
  ],
  [
    '홍콩반점 전북대점',
    '중식',
    '전북 전주시 덕진구 명륜4길 20',
    35.8462,
    127.13,
    14000,
    2000,
    30,
    [
      ['짜장면', 7000],
      ['짬뽕', 8500],
      ['탕수육 소', 15000],
      ['볶음밥', 8000],
    ],
  ],
  [
    '엽기떡볶이 전북대점',
    '분식',
    '전북 전주시 덕진구 백제대로 559',
    35.847,
    127.1279,
    14000,
    3000,
    35,
    [
      ['엽기떡볶이', 14000],
      ['엽기오뎅', 14000],
      ['주먹김밥', 2500],
      ['모둠튀김', 5000],
    ],
  ],
  [
    'BHC 강남역점',
    '치킨',
    '서울 강남구 강남대로 396',
    37.4982,
    127.028,
    17000,
    3000,
    35,
    [
      ['뿌링클', 21000],
      ['맛초킹', 21000],
      ['후라이드', 18000],
      ['뿌링치즈볼', 5500],
    ],
  ],
  [
    '피자헛 강남점',
    '피자',
    '서울 강남구 테헤란로 107',
    37.499,
    127.03,
    22000,
    2500,
    40,
    [
      ['슈퍼슈프림 L', 31900],
      ['페퍼로니 L', 27900],
      ['치즈크러스트 L', 33900],
      ['버팔로윙', 8900],
    ],
  ],
  [
    '강남 한상',
    '한식',
    '서울 강남구 강남대로94길 15',
    37.4975,
    127.027,
    13000,
    2000,
    30,
    [
      ['불고기 정식', 12000],
      ['된장찌개', 9000],
      ['비빔밥', 10000],
      ['계란말이', 7000],
    ],
  ],
  [
    '차이나팩토리 강남',
    '중식',
    '서울 강남구 테헤란로 129',
    37.4985,
    127.0265,
    15000,
    3000,
    35,
    [
      ['짜장면', 8000],
      ['짬뽕', 9500],
      ['깐풍기', 22000],
      ['군만두', 6000],
    ],
  ],
];

/** The demo accounts of the store's and the rider's side: sign in as them with the development login. */
export const DEMO_STAFF_EMAIL = (storeIndex: number) => `staff${storeIndex + 1}@demo.co-order.dev`;
export const DEMO_RIDER_EMAILS = ['rider1@demo.co-order.dev', 'rider2@demo.co-order.dev'];

/**
 * Seeds demo categories, stores and menus, a staff account for each store (staff1@… for the first
 * store, and so on) and two riders, once per database (guarded against concurrent seeding). The
 * accounts are users like any other (with the sign-up grant as a ledger row), holding roles.
 */
export async function seedDemoData(db: Db, signupGrant = 50_000): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(727002)`.execute(tx);
    const existing = await tx.selectFrom('categories').select('name').limit(1).executeTakeFirst();
    if (existing) return false;
    await tx
      .insertInto('categories')
      .values(CATEGORIES.map((name, i) => ({ name, sort_order: i })))
      .execute();
    await tx
      .insertInto('stores')
      .values(
        STORES.map(([name, category, address, lat, lon, min, tip, minutes]) => ({
          id: demoId(name),
          name,
          category,
          address,
          lat,
          lon,
          min_order_price: min,
          delivery_tip: tip,
          delivery_minutes: minutes,
        })),
      )
      .execute();
    await tx
      .insertInto('menus')
      .values(
        STORES.flatMap(([store, , , , , , , , menus]) =>
          menus.map(([name, price]) => ({ id: demoId(`${store}/${name}`), store_id: demoId(store), name, price })),
        ),
      )
      .execute();
    // The accounts, as a first sign-in makes them (the grant a ledger row), with their roles.
    const accounts = [
      ...STORES.map(([name], i) => ({ email: DEMO_STAFF_EMAIL(i), name: `${name} staff`, storeId: demoId(name) })),
      ...DEMO_RIDER_EMAILS.map((email, i) => ({ email, name: `Demo rider ${i + 1}`, storeId: null })),
    ];
    await sql`
      WITH a AS (
        SELECT * FROM unnest(${accounts.map((a) => demoId(a.email))}::uuid[], ${accounts.map((a) => a.email)}::text[],
                             ${accounts.map((a) => a.name)}::text[], ${accounts.map((a) => a.storeId)}::uuid[]) AS a(id, email, name, store_id)),
      u AS (INSERT INTO users (id, email, name, credit) SELECT id, email, name, ${signupGrant} FROM a
            ON CONFLICT (email) DO NOTHING RETURNING id),
      g AS (INSERT INTO credit_ledger (user_id, kind, amount, balance_after)
            SELECT id, 'signup_grant', ${signupGrant}, ${signupGrant} FROM u WHERE ${signupGrant} > 0),
      s AS (INSERT INTO store_staff (user_id, store_id) SELECT a.id, a.store_id FROM a JOIN u ON u.id = a.id WHERE a.store_id IS NOT NULL)
      INSERT INTO riders (user_id) SELECT a.id FROM a JOIN u ON u.id = a.id WHERE a.store_id IS NULL`.execute(tx);
    return true;
  });
}
