/**
 * torch.round: halves go to the even neighbour (2.5 → 2, 3.5 → 4, -2.5 → -2), unlike Math.round,
 * which sends them up. Anchor sizes and MultiScaleRoIAlign's level scales are rounded this way.
 */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
