// A flag given several times (`--build-arg A=1 --build-arg B=2`): commander calls this with each
// value and what it collected so far.
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
