//! A Merkle tree over SHA-256 leaf hashes, shaped as in RFC 9162 (Certificate Transparency):
//! for `n > 1` leaves the left subtree holds the largest power of two below `n`, leaves and
//! inner nodes are hashed with distinct prefixes (0 and 1) so a node can never pass for a leaf.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash of a leaf whose canonical bytes are `bytes`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(bytes)
        .finalize()
        .into()
}

fn node(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root over `leaves` (leaf hashes, in order); the hash of nothing for none.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index`: the sibling hashes from the leaf up to the root.
pub fn path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let mut out = Vec::new();
    collect_path(leaves, index, &mut out);
    out
}

fn collect_path(leaves: &[Hash], index: usize, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        collect_path(&leaves[..k], index, out);
        out.push(root(&leaves[k..]));
    } else {
        collect_path(&leaves[k..], index - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// Whether `leaf` is leaf `index` of a tree of `size` leaves whose root is `root`, by `path`.
pub fn verify_path(leaf: &Hash, index: u64, size: u64, path: &[Hash], expected: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for sibling in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node(sibling, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && &r == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_and_no_other_does() {
        for n in 1..40 {
            let tree = leaves(n);
            let top = root(&tree);
            for i in 0..n {
                let p = path(&tree, i);
                assert!(
                    verify_path(&tree[i], i as u64, n as u64, &p, &top),
                    "{i} of {n}"
                );
                let other = leaf_hash(b"forged");
                assert!(!verify_path(&other, i as u64, n as u64, &p, &top));
                if n > 1 {
                    assert!(!verify_path(
                        &tree[i],
                        ((i + 1) % n) as u64,
                        n as u64,
                        &p,
                        &top
                    ));
                }
            }
        }
    }

    #[test]
    fn the_root_depends_on_every_leaf_and_their_order() {
        let tree = leaves(7);
        let top = root(&tree);
        let mut swapped = tree.clone();
        swapped.swap(2, 3);
        assert_ne!(root(&swapped), top);
        assert_ne!(root(&tree[..6]), top);
        // One leaf's tree is the leaf; two leaves are one node over both.
        assert_eq!(root(&tree[..1]), tree[0]);
        assert_eq!(root(&tree[..2]), node(&tree[0], &tree[1]));
    }
}
