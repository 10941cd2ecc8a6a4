// The browser wallet (EIP-1193: MetaMask and the like), for parties whose keys the service does
// not hold: the wallet signs or sends, the page never sees a key. No DOM access at import.

/** The browser's wallet provider, or null when there is none. */
export function browserWallet() {
  const wallet = globalThis.window?.ethereum;
  return typeof wallet?.request === 'function' ? wallet : null;
}

function walletError(e) {
  const text = e?.code === 4001 ? 'you declined in the wallet' : (e?.message || String(e));
  return new Error(`the wallet: ${text}`);
}

async function ask(method, params = []) {
  const wallet = browserWallet();
  if (!wallet) throw new Error('no browser wallet (e.g. MetaMask) in this browser');
  try {
    return await wallet.request({ method, params });
  } catch (e) {
    throw walletError(e);
  }
}

/** The wallet's account, which must be `expected` (the party's address), on chain `chainId`. */
export async function walletAccount(expected, chainId) {
  const [account] = await ask('eth_requestAccounts');
  if (!account) throw new Error('the wallet shares no account');
  if (expected && account.toLowerCase() !== expected.toLowerCase()) {
    throw new Error(`the wallet's account is ${account}, this party's address is ${expected}: switch accounts in the wallet`);
  }
  if (chainId !== undefined && chainId !== null) {
    const on = Number(BigInt(await ask('eth_chainId')));
    if (on !== Number(chainId)) throw new Error(`the wallet is on chain ${on}, the registry on chain ${chainId}: switch networks in the wallet`);
  }
  return account;
}

/** An EIP-712 signature of `typedData` (as the API's drafts give it) by `account`. */
export function walletSignTypedData(account, typedData) {
  return ask('eth_signTypedData_v4', [account, JSON.stringify(typedData)]);
}

/** Sends `{from, to, data}` from the wallet and waits (up to 2 minutes) until it is in a block. */
export async function walletSend(tx, { wait = (ms) => new Promise((r) => setTimeout(r, ms)) } = {}) {
  const hash = await ask('eth_sendTransaction', [{ from: tx.from, to: tx.to, data: tx.data }]);
  for (let i = 0; i < 120; i++) {
    const receipt = await ask('eth_getTransactionReceipt', [hash]);
    if (receipt) {
      if (receipt.status !== '0x1') throw new Error(`transaction ${hash} reverted`);
      return hash;
    }
    await wait(1000);
  }
  throw new Error(`transaction ${hash} is not in a block after 2 minutes: check it in the wallet`);
}
