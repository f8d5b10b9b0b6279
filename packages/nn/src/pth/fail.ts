/** Every refusal names the file and the reason: `pth horse2zebra.pth: <reason>`. */
export type Fail = (reason: string) => never;

export function failer(source: string): Fail {
  return (reason) => {
    throw new Error(`pth ${source}: ${reason}`);
  };
}
