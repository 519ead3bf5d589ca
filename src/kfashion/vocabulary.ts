/**
 * Known K-Fashion label values: Korean as stored → English label, per attribute kind.
 * The vocabulary is open: values not listed here are kept as they are (with no English label).
 */
import { AttributeKind, GARMENT_ATTRIBUTE_KINDS, MULTI_VALUED_KINDS, SuperCategory } from './types';

type Labels = Readonly<Record<string, string>>;

/** Categories per super-category; `category` is one kind whose values span every slot. */
export const CATEGORY_LABELS_BY_SUPER_CATEGORY: Readonly<Record<SuperCategory, Labels>> = {
  [SuperCategory.TOP]: {
    탑: 'top',
    블라우스: 'blouse',
    티셔츠: 't-shirt',
    니트웨어: 'knitwear',
    셔츠: 'shirt',
    브라탑: 'bra top',
    후드티: 'hoodie',
  },
  [SuperCategory.BOTTOM]: {
    청바지: 'jeans',
    팬츠: 'pants',
    스커트: 'skirt',
    래깅스: 'leggings',
    조거팬츠: 'jogger pants',
  },
  [SuperCategory.OUTER]: {
    코트: 'coat',
    재킷: 'jacket',
    점퍼: 'jumper',
    패딩: 'padded jacket',
    베스트: 'vest',
    가디건: 'cardigan',
    짚업: 'zip-up',
  },
  [SuperCategory.ONE_PIECE]: {
    드레스: 'dress',
    점프수트: 'jumpsuit',
  },
};

const COLOR_LABELS: Labels = {
  블랙: 'black',
  화이트: 'white',
  그레이: 'grey',
  레드: 'red',
  핑크: 'pink',
  오렌지: 'orange',
  베이지: 'beige',
  브라운: 'brown',
  옐로우: 'yellow',
  그린: 'green',
  카키: 'khaki',
  민트: 'mint',
  블루: 'blue',
  네이비: 'navy',
  스카이블루: 'sky blue',
  퍼플: 'purple',
  라벤더: 'lavender',
  와인: 'wine',
  네온: 'neon',
  골드: 'gold',
  실버: 'silver',
};

/** Styles (스타일) and sub-styles (서브스타일) share one word list. */
const STYLE_LABELS: Labels = {
  밀리터리: 'military',
  로맨틱: 'romantic',
  스트리트: 'street',
  모던: 'modern',
  페미닌: 'feminine',
  클래식: 'classic',
  매니시: 'mannish',
  톰보이: 'tomboy',
  섹시: 'sexy',
  젠더리스: 'genderless',
  히피: 'hippie',
  웨스턴: 'western',
  오리엔탈: 'oriental',
  프레피: 'preppy',
  컨트리: 'country',
  리조트: 'resort',
  레트로: 'retro',
  스포티: 'sporty',
  아방가르드: 'avant-garde',
  힙합: 'hip-hop',
  펑크: 'punk',
  키치: 'kitsch',
  소피스트케이티드: 'sophisticated',
};

export const LABELS_BY_KIND: Readonly<Record<AttributeKind, Labels>> = {
  category: Object.assign({}, ...Object.values(CATEGORY_LABELS_BY_SUPER_CATEGORY)) as Labels,
  color: COLOR_LABELS,
  subColor: COLOR_LABELS,
  length: {
    크롭: 'cropped',
    노멀: 'normal',
    롱: 'long',
    하프: 'half',
    미니: 'mini',
    니렝스: 'knee-length',
    미디: 'midi',
    발목: 'ankle',
    맥시: 'maxi',
  },
  sleeveLength: {
    없음: 'none',
    민소매: 'sleeveless',
    반팔: 'short',
    캡: 'cap',
    '7부소매': 'three-quarter',
    긴팔: 'long',
  },
  neckline: {
    라운드넥: 'round',
    유넥: 'U-neck',
    브이넥: 'V-neck',
    홀토넥: 'halter',
    오프숄더: 'off-shoulder',
    '원 숄더': 'one-shoulder',
    스퀘어넥: 'square',
    노카라: 'collarless',
    후드: 'hooded',
    터틀넥: 'turtleneck',
    보트넥: 'boat',
    스위트하트: 'sweetheart',
  },
  collar: {
    셔츠칼라: 'shirt',
    보우칼라: 'bow',
    세일러칼라: 'sailor',
    숄칼라: 'shawl',
    폴로칼라: 'polo',
    피터팬칼라: 'Peter Pan',
    너치드칼라: 'notched',
    차이나칼라: 'mandarin',
    테일러칼라: 'tailored',
    밴드칼라: 'band',
  },
  fit: {
    노멀: 'normal',
    루즈: 'loose',
    오버사이즈: 'oversized',
    스키니: 'skinny',
    와이드: 'wide',
    타이트: 'tight',
    벨보텀: 'bell-bottom',
  },
  material: {
    패딩: 'padding',
    퍼: 'fur',
    무스탕: 'shearling',
    스웨이드: 'suede',
    앙고라: 'angora',
    코듀로이: 'corduroy',
    '시퀸/글리터': 'sequin/glitter',
    데님: 'denim',
    저지: 'jersey',
    트위드: 'tweed',
    벨벳: 'velvet',
    '비닐/PVC': 'vinyl/PVC',
    '울/캐시미어': 'wool/cashmere',
    합성섬유: 'synthetic',
    '헤어 니트': 'hair knit',
    니트: 'knit',
    레이스: 'lace',
    린넨: 'linen',
    메시: 'mesh',
    플리스: 'fleece',
    네오프렌: 'neoprene',
    실크: 'silk',
    스판덱스: 'spandex',
    자카드: 'jacquard',
    가죽: 'leather',
    면: 'cotton',
    시폰: 'chiffon',
    우븐: 'woven',
  },
  print: {
    체크: 'check',
    스트라이프: 'stripe',
    지그재그: 'zigzag',
    호피: 'leopard',
    지브라: 'zebra',
    도트: 'dot',
    카무플라쥬: 'camouflage',
    페이즐리: 'paisley',
    아가일: 'argyle',
    플로럴: 'floral',
    레터링: 'lettering',
    그래픽: 'graphic',
    해골: 'skull',
    타이다이: 'tie-dye',
    그라데이션: 'gradient',
    무지: 'solid',
    '하운즈 투스': 'houndstooth',
    깅엄: 'gingham',
  },
  detail: {
    포켓: 'pocket',
    셔링: 'shirring',
    단추: 'buttons',
    지퍼: 'zip',
    리본: 'ribbon',
    프릴: 'frill',
    러플: 'ruffle',
    레이스업: 'lace-up',
    드롭숄더: 'drop shoulder',
    퍼프: 'puff',
    플리츠: 'pleats',
    스트링: 'string',
    벨트: 'belt',
    자수: 'embroidery',
    스터드: 'studs',
    비즈: 'beads',
    컷오프: 'cut-off',
    슬릿: 'slit',
    롤업: 'roll-up',
    체인: 'chain',
    퀄팅: 'quilting',
    디스트로이드: 'distressed',
    드롭웨이스트: 'drop waist',
    퍼트리밍: 'fur trim',
    페플럼: 'peplum',
    비대칭: 'asymmetric',
    스팽글: 'spangles',
    컷아웃: 'cut-out',
    X스트랩: 'X-strap',
    버클: 'buckle',
    글리터: 'glitter',
    띠: 'band',
    폼폼: 'pom-pom',
    싱글브레스티드: 'single-breasted',
    더블브레스티드: 'double-breasted',
  },
  style: STYLE_LABELS,
  subStyle: STYLE_LABELS,
};

/** Spelling variants met in the released files → the spelling the vocabulary uses. */
const SPELLING_VARIANTS: Readonly<Record<string, string>> = {
  노말: '노멀',
};

/**
 * The entry of `key` in a lookup table, or undefined: own keys only, so a value spelled like an
 * Object.prototype member ("toString", "constructor") is an unknown value, not a function.
 */
function ownEntry(table: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** Normalise one stored value: trim, fold known spelling variants. Unknown values pass through. */
export function normaliseValue(value: string): string {
  const trimmed = value.normalize('NFC').trim().replace(/\s+/g, ' ');
  return ownEntry(SPELLING_VARIANTS, trimmed) ?? trimmed;
}

/** English label of a stored value, or null when the value is not in the published lists. */
export function englishLabel(kind: AttributeKind, value: string): string | null {
  return ownEntry(LABELS_BY_KIND[kind], value) ?? null;
}

/** The value is in the published lists of its kind. */
export function isPublishedValue(kind: AttributeKind, value: string): boolean {
  return Object.hasOwn(LABELS_BY_KIND[kind], value);
}

/**
 * Resolve a user-supplied value (Korean as stored, or its English label, any case) to the
 * stored Korean value. Returns the input unchanged when it matches nothing known, so open
 * vocabulary values can still be searched.
 */
export function resolveValue(kind: AttributeKind, input: string): string {
  const normalised = normaliseValue(input);
  if (isPublishedValue(kind, normalised)) return normalised;
  const labels = LABELS_BY_KIND[kind];
  const lower = normalised.toLowerCase();
  for (const [korean, english] of Object.entries(labels)) {
    if (english.toLowerCase() === lower) return korean;
  }
  return normalised;
}

/**
 * The full K-Fashion label space as a model config's fields: every category a class (after the background), every
 * other garment kind an attribute head over its English labels. What the benchmarks size the model's heads with.
 */
export function fullLabelSpace(): { class_names: string[]; attributes: { kind: string; type: 'single' | 'multi'; values: string[] }[] } {
  const englishValues = (kind: AttributeKind) => [...new Set(Object.values(LABELS_BY_KIND[kind]))];
  return {
    class_names: ['__background__', ...englishValues('category')],
    attributes: GARMENT_ATTRIBUTE_KINDS.filter((kind) => kind !== 'category').map((kind) => ({
      kind,
      type: MULTI_VALUED_KINDS.has(kind) ? 'multi' : 'single',
      values: englishValues(kind),
    })),
  };
}
