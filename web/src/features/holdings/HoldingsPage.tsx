export function HoldingsPage() {
  return <h1>Holdings</h1>;
}
